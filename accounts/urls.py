from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/csrf", api.CsrfApi.as_view(), name="auth-csrf"),
]
