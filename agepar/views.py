"""The pages people land on: the home page, API docs, and error pages (JSON under /api/, branded
Portuguese HTML pages elsewhere: templates/403.html, 403_csrf.html, 404.html, 500.html)."""

import sys

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from agepar.renderers import ORJSONRenderer


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Não encontrado.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)


def _database_unavailable() -> bool:
    # Django calls handler500 from inside its `except` block, so the exception is still at hand.
    exc = sys.exc_info()[1]
    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    # psycopg's pool raises PoolTimeout (not a DatabaseError) when no connection comes back in time.
    return type(exc).__name__ == "PoolTimeout" and not isinstance(exc, DatabaseError)


def server_error(request):
    if _database_unavailable():
        # The database is down or restarting: a retryable 503, not a 500 that looks like a bug.
        response = JsonResponse({"detail": "Serviço temporariamente indisponível. Tente novamente em instantes.",
                                 "code": "database_unavailable"}, status=503)
        response["Retry-After"] = "5"
        return response
    if _is_api(request):
        return JsonResponse({"detail": "Erro interno do servidor.", "code": "server_error"}, status=500)
    return defaults.server_error(request)


def bad_request(request, exception=None):
    if _is_api(request) and isinstance(exception, RequestDataTooBig):
        # Django files a body over DATA_UPLOAD_MAX_MEMORY_SIZE under "suspicious" (400); it is a 413.
        return JsonResponse({"detail": "O conteúdo enviado é grande demais.", "code": "too_large"}, status=413)
    if _is_api(request):
        return JsonResponse({"detail": "Requisição inválida.", "code": "bad_request"}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse({"detail": "Você não tem permissão para executar essa ação.",
                             "code": "permission_denied"}, status=403)
    return defaults.permission_denied(request, exception)


def csrf_failure(request, reason=""):
    if _is_api(request):
        return JsonResponse({"detail": "Falha na verificação CSRF.", "code": "csrf_failed"}, status=403)
    return html_csrf_failure(request, reason=reason)


def home(request):
    """`/`: a small page with the ways in (the front end is served elsewhere)."""
    return render(request, "home.html")


def api_not_found(request, path=""):
    """Every unknown /api/ path, DEBUG or not (Django's DEBUG 404 page is HTML for people)."""
    return not_found(request)


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI from drf-spectacular-sidecar (no CDN), its set-up script a separate file (no inline script).

    Signed-in people only; someone anonymous is sent to the sign-in page and back.
    """

    url_name = "schema"
    # The check is get()'s (a redirect to sign in, not the API's 401); the schema keeps its own.
    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("admin:login"))
        return super().get(request, *args, **kwargs)


class ApiSchemaView(SpectacularAPIView):
    """The OpenAPI document; its errors (401 for someone anonymous) are the API's JSON, not YAML."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = ORJSONRenderer()
        self.request.accepted_media_type = ORJSONRenderer.media_type
        return response
