from django.urls import include, path


def fail(request):
    raise RuntimeError("boom inside a view")


urlpatterns = [path("failing", fail), path("", include("agepar.urls"))]
