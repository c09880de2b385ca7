"""GET /api/health: is the database answering, can we write to the upload storage, does the shared
cache answer, and is some worker alive while work waits?

`worker` fails when submissions are queued and no worker has beaten for three heartbeat periods
(submissions.workers); with an empty queue a missing worker hurts no one yet. It also reports the
queue depth and how long the oldest queued submission has waited.

With a read replica configured, `checks.replica` also says whether it answers, its lag, and
which database the lag-tolerant reads are `serving` from; it does not turn the answer into a 503.

Each probe runs in a worker thread (agepar.probes) and is waited for at most HEALTH_TIMEOUT
seconds, so the endpoint answers 503 promptly while the database is down instead of hanging for
the connection pool's 30 s timeout. A probe still stuck from an earlier call is not stacked up
again: it is reported as failing until it returns.
"""

import time
import uuid
from concurrent.futures import Future

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from agepar import probes, routers


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _database() -> dict:
    try:
        started = time.perf_counter()
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "latency_ms": _since(started)}
    finally:
        connections.close_all()  # this thread's connection goes back to the pool


def _cache() -> dict:
    try:
        started = time.perf_counter()
        key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
        cache.set(key, value, 30)
        ok = cache.get(key) == value
        cache.delete(key)
        return {"ok": ok, "latency_ms": _since(started)} if ok else {"ok": False, "error": "value_lost"}
    finally:
        connections.close_all()  # the database cache's connection


def _worker() -> dict:
    from submissions.selectors import queue_state
    from submissions.workers import dead_after

    try:
        state = queue_state()
    finally:
        connections.close_all()
    alive = state.worker_last_seen_seconds is not None and \
        state.worker_last_seen_seconds <= dead_after().total_seconds()
    check: dict[str, object] = {"ok": alive or state.depth == 0, "queued": state.depth,
             "oldest_queued_seconds": state.oldest_age_seconds,
             "last_heartbeat_seconds": state.worker_last_seen_seconds}
    if not check["ok"]:
        check["error"] = "no_worker"
    return check


def _storage() -> dict:
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)
    return {"ok": True}


def _replica() -> dict:
    try:
        return routers.status(fresh=True).as_check()
    finally:
        connections.close_all()


PROBES = {"database": _database, "storage": _storage, "cache": _cache, "worker": _worker}
# Reported, but not a reason for a 503: while the replica is down or behind, its reads go to the
# primary (agepar/routers.py), so this server still serves everything.
INFORMATIONAL = {"replica": _replica}


def _outcome(future: Future, deadline: float) -> dict:
    try:
        return probes.wait(future, deadline)
    except TimeoutError:
        return {"ok": False, "error": "timeout"}
    except Exception as exc:  # the probe's own failure is the answer, never a 500
        return {"ok": False, "error": type(exc).__name__}


def run_checks(timeout: float, names=PROBES) -> dict[str, dict]:
    """Every probe at once, all waited for until one shared deadline: an outage costs `timeout` once."""
    calls = {**PROBES, **INFORMATIONAL}
    futures = {name: probes.start(f"health.{name}", calls[name]) for name in names}
    deadline = time.monotonic() + timeout
    return {name: _outcome(future, deadline) for name, future in futures.items()}


_check = inline_serializer("HealthCheck", {
    "ok": serializers.BooleanField(),
    "latency_ms": serializers.FloatField(required=False),
    "error": serializers.CharField(required=False),
    # worker only
    "queued": serializers.IntegerField(required=False),
    "oldest_queued_seconds": serializers.FloatField(required=False, allow_null=True),
    "last_heartbeat_seconds": serializers.FloatField(required=False, allow_null=True),
    # replica only
    "lag_seconds": serializers.FloatField(required=False),
    "serving": serializers.ChoiceField(["replica", "primary"], required=False),
})
_health = inline_serializer("Health", {"status": serializers.ChoiceField(["ok", "error"]),
                                       "checks": serializers.DictField(child=_check)})


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: _health, 503: OpenApiResponse(_health, description="A check failed.")},
                   tags=["health"])
    def get(self, request):
        names = [*PROBES, *INFORMATIONAL] if routers.configured() else list(PROBES)
        checks = run_checks(settings.HEALTH_TIMEOUT, names)
        healthy = all(checks[name]["ok"] for name in PROBES)
        return Response({"status": "ok" if healthy else "error", "checks": checks},
                        status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
