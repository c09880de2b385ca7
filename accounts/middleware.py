"""Session, user and password-change middleware (they replace Django's session and auth middleware)."""

from functools import partial

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from accounts import lockout
from agepar.request_info import client_ip, user_agent


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that the store learns the client's IP and user agent for the rows it creates."""

    def process_request(self, request):
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        request.session = self.SessionStore(session_key, ip=client_ip(request), user_agent=user_agent(request))


def _session_user(request):
    """Django's `auth.get_user`, but the user comes from the session row (same query), not a second SELECT."""
    session = request.session
    bound = getattr(session, "bound_user", None)
    if bound is None:  # another engine: Django's own path
        return auth.get_user(request)
    user = bound()
    if user is None:
        return AnonymousUser()
    if (str(session.get(auth.SESSION_KEY)) != str(user.pk)
            or session.get(auth.BACKEND_SESSION_KEY) not in settings.AUTHENTICATION_BACKENDS
            or not user.is_active):
        return AnonymousUser()
    session_hash = session.get(auth.HASH_SESSION_KEY)
    current = user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, current):
        return user
    if session_hash and any(constant_time_compare(session_hash, old) for old in user.get_session_auth_fallback_hash()):
        session.cycle_key()
        session[auth.HASH_SESSION_KEY] = current
        return user
    # The password changed since this session signed in.
    session.flush()
    return AnonymousUser()


def get_user(request):
    if not hasattr(request, "_cached_user"):
        request._cached_user = _session_user(request)
    return request._cached_user


async def auser(request):
    if not hasattr(request, "_acached_user"):
        request._acached_user = await sync_to_async(get_user)(request)
    return request._acached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Loads session and user in one query; permission checks still read the user's current groups."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
        request.auser = partial(auser, request)


# Paths a user with must_change_password may still use: who am I, sign in/out, change password.
_PASSWORD_CHANGE_ALLOWED_PATHS = ("/api/me", "/api/health")
_PASSWORD_CHANGE_ALLOWED_PREFIX = "/api/auth/"  # noqa: S105 (a path, not a password)


# Admin pages a user who must change their password may still open.
_ADMIN_PASSWORD_CHANGE_ALLOWED = ("password_change", "password_change_done", "logout", "login", "jsi18n")


class PasswordChangeRequiredMiddleware:
    """403 `password_change_required` on every API path but the allowed ones; in the admin, every
    page leads to the password change page until the password is changed.

    A middleware rather than a DRF permission: a view that sets its own `permission_classes`
    would silently drop a default permission, and this rule must hold for every endpoint.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if (path.startswith("/api/") and path not in _PASSWORD_CHANGE_ALLOWED_PATHS
                and not path.startswith(_PASSWORD_CHANGE_ALLOWED_PREFIX)
                and settings.SESSION_COOKIE_NAME in request.COOKIES):
            user = request.user
            if user.is_authenticated and user.must_change_password:
                return JsonResponse({"detail": "Troque sua senha antes de continuar.",
                                     "code": "password_change_required"}, status=403)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match.app_name == "admin" and match.url_name not in _ADMIN_PASSWORD_CHANGE_ALLOWED:
            user = request.user
            if user.is_authenticated and user.is_staff and user.must_change_password:
                return redirect(f"{match.namespace}:password_change")
        return None

class LockoutPageMiddleware:
    """A sign-in form refused by the lockout answers 429 with a Portuguese page and Retry-After.

    The admin's login form only learns "authentication failed" from authenticate(); the lockout
    leaves its verdict on the request. The API's sign-in answers its own JSON 429.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        refusal = lockout.refusal_of(request)
        if refusal is None or request.path.startswith("/api/"):
            return response
        seconds = refusal.retry_after
        page = render(request, "accounts/locked_out.html", {"minutes": max(1, -(-seconds // 60))}, status=429)
        page["Retry-After"] = str(seconds)
        return page
