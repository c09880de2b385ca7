from django.urls import path

from accounts import api

urlpatterns = [
    path("auth/csrf", api.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login", api.LoginApi.as_view(), name="auth-login"),
    path("auth/logout", api.LogoutApi.as_view(), name="auth-logout"),
    path("auth/change-password", api.ChangePasswordApi.as_view(), name="auth-change-password"),
    path("auth/sessions", api.SessionListApi.as_view(), name="auth-sessions"),
    path("auth/sessions/revoke-others", api.SessionRevokeOthersApi.as_view(), name="auth-sessions-revoke-others"),
    path("auth/sessions/<uuid:public_id>/revoke", api.SessionRevokeApi.as_view(), name="auth-session-revoke"),
    path("me", api.MeApi.as_view(), name="me"),
]
