import datetime as dt
import logging
import re
import time
import uuid

from django.conf import settings
from django.core.exceptions import BadRequest
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.functional import empty

from agepar import metrics
from agepar.logging import log_context

access_log = logging.getLogger("agepar.access")

# A client-supplied request id is echoed into logs and headers, so only a safe shape is kept.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")


def _user_id(request):
    """The user id if authentication already ran; never triggers a session load of its own."""
    user = getattr(request, "user", None)
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if getattr(user, "is_authenticated", False) else None


class RequestIdMiddleware:
    """Gives every request an id (from X-Request-ID or new), echoes it, and logs one access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID", "")
        request.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        with log_context(request_id=request.request_id):
            return self._respond(request, started)

    def _respond(self, request, started):
        with connection.execute_wrapper(metrics.time_query):
            response = self.get_response(request)
        metrics.observe_request(request, response, time.perf_counter() - started)
        response["X-Request-ID"] = request.request_id
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": _user_id(request),
                "request_id": request.request_id,
            },
        )
        return response


class LengthRequiredMiddleware:
    """A request body without Content-Length (Transfer-Encoding: chunked) is refused with 411.

    Django reads a body only up to CONTENT_LENGTH: without one, a chunked upload or JSON body would be
    read as empty ("Nenhum arquivo foi submetido", blank JSON) and its size limits never applied. The
    proxy in front (deploy/nginx) buffers chunked bodies and forwards them with a length; a client
    straight at gunicorn must send one. First in the chain after the request id, before anything reads
    the body or answers for it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "HTTP_TRANSFER_ENCODING" in request.META and not request.META.get("CONTENT_LENGTH"):
            return JsonResponse({"detail": "Informe o tamanho do conteúdo enviado (Content-Length).",
                                 "code": "length_required"}, status=411)
        return self.get_response(request)


class NulQueryMiddleware:
    """A 400 for a NUL byte in a query parameter (`?kind=a%00b`), before any view reads it.

    PostgreSQL refuses NUL in every text parameter (DataError, a 500), and no filter, search or
    cursor of the API or the admin has a use for one; Django's forms already refuse NUL in bodies
    (ProhibitNullCharactersValidator). The 400 is agepar.views.bad_request's (JSON under /api/).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            raise BadRequest("NUL byte in a query parameter")
        return self.get_response(request)


class PrivateApiMiddleware:
    """`Cache-Control: private, no-store` and `Vary: Cookie` on every API answer.

    The answers to a signed-in user (/api/me, sessions, submissions, results, audits, shares) are
    personal: no shared cache may keep them and the browser must not store them for the next person
    at the machine. Every API answer is marked, not only those of an authenticated view: the rest
    depend on the cookies too (the CSRF token, sign-in, whose DRF views run without authentication
    and so leave `request.user` anonymous), and none is worth caching. A view that set its own
    Cache-Control (downloads, CSV exports) gets no-store added, never removed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/"):
            patch_cache_control(response, private=True, no_store=True)
            patch_vary_headers(response, ("Cookie",))
        return response


class ApiUtcMiddleware:
    """API.md promises UTC timestamps; the admin and public pages keep TIME_ZONE (America/Sao_Paulo)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        with timezone.override(dt.UTC):
            return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Sends settings.SECURE_CSP as the Content-Security-Policy of every response (Django 5.2 has none).

    Outside the others, so that redirects, CSRF refusals and whitenoise's files carry it too; a view
    that sets its own header keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(" ".join([directive, *sources]) for directive, sources in settings.SECURE_CSP.items())

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
