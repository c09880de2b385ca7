"""Error pages: JSON under /api/, Django's HTML pages elsewhere (admin, public share pages)."""

import sys

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as html_csrf_failure


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
