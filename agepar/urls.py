from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path

from agepar import views
from agepar.health import HealthView
from agepar.metrics import metrics_view

api_patterns: list[URLPattern | URLResolver] = [
    path("health", HealthView.as_view(), name="health"),
    path("schema/", views.ApiSchemaView.as_view(), name="schema"),
    path("docs/", views.ApiDocsView.as_view(), name="docs"),
    path("", include("accounts.urls")),
    path("", include("audits.urls")),
    path("", include("submissions.urls")),
    path("", include("fileshare.urls")),
    re_path(r"^(?P<path>.*)$", views.api_not_found),  # last: the JSON 404, also with DEBUG on
]

urlpatterns = [
    path("api/", include(api_patterns)),
    path("admin/", admin.site.urls),
    # Prometheus scrapes (agepar/metrics.py: 404 unless METRICS_TOKEN or METRICS_ALLOWED_IPS is set).
    path("metrics", metrics_view, name="metrics"),
    # Public share links live at the site root: /s/<token> (fileshare/public_urls.py).
    path("", include("fileshare.public_urls")),
    path("", views.home, name="home"),
]

handler400 = "agepar.views.bad_request"
handler403 = "agepar.views.permission_denied"
handler404 = "agepar.views.not_found"
handler500 = "agepar.views.server_error"
