"""django-axes glue: when a lockout ends, and how it is answered (JSON 429 for the API, a page for the admin).

Axes' database handler keeps one row per (identifier, IP, user agent) with the time of its last
failure. With AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT off, attempts refused during a
lockout are not recorded, so a lockout ends AXES_COOLOFF_TIME after the failure that started
it however often the attacker keeps trying.
"""

import math

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.db.models import Max, Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

LOCKED_OUT_DETAIL = "Muitas tentativas de login. Tente novamente mais tarde."


def retry_after(request, credentials=None) -> int:
    """Seconds until every lockout that applies to this request has ended (at least 1)."""
    AxesProxyHandler.update_request(request)
    handler = AxesProxyHandler.get_implementation()
    cool_off = get_cool_off(request)
    limit = get_failure_limit(request, credentials)
    ends = []
    for attempts in handler.get_user_attempts(request, credentials):
        totals = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        if totals["failures"] and totals["failures"] >= limit:
            ends.append(totals["last"] + cool_off)
    if not ends:
        return math.ceil(cool_off.total_seconds())
    return max(1, math.ceil((max(ends) - timezone.now()).total_seconds()))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the API's JSON 429, or a Portuguese page for the admin login."""
    if original_response is not None and original_response.status_code == 429:
        return original_response
    seconds = retry_after(request, credentials)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": LOCKED_OUT_DETAIL, "code": "locked_out"}, status=429)
    else:
        response = render(request, "accounts/locked_out.html",
                          {"minutes": max(1, math.ceil(seconds / 60))}, status=429)
    response["Retry-After"] = str(seconds)
    return response
