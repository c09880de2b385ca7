"""GET /api/health: is the database answering, and can we write to the upload storage?

Each probe runs in a worker thread and is waited for at most HEALTH_TIMEOUT seconds, so
the endpoint answers 503 promptly while the database is down instead of hanging for the
connection pool's 30 s timeout. A probe still stuck from an earlier call is not stacked
up again: it is reported as failing until it returns.
"""

import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connections
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")
_pending: dict[str, Future] = {}
_lock = threading.Lock()


def _database() -> dict:
    try:
        started = time.perf_counter()
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    finally:
        connections.close_all()  # this thread's connection goes back to the pool


def _storage() -> dict:
    name = default_storage.save(f"health/{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)
    return {"ok": True}


PROBES = {"database": _database, "storage": _storage}


def _run(name: str, timeout: float) -> dict:
    with _lock:
        future = _pending.get(name)
        if future is None or future.done():
            future = _pending[name] = _executor.submit(PROBES[name])
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        return {"ok": False, "error": "timeout"}
    except Exception as exc:  # the probe's own failure is the answer, never a 500
        return {"ok": False, "error": type(exc).__name__}


_check = inline_serializer("HealthCheck", {"ok": serializers.BooleanField(),
                                           "latency_ms": serializers.FloatField(required=False),
                                           "error": serializers.CharField(required=False)})
_health = inline_serializer("Health", {"status": serializers.ChoiceField(["ok", "error"]),
                                       "checks": serializers.DictField(child=_check)})


class HealthView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: _health, 503: OpenApiResponse(_health, description="A check failed.")},
                   tags=["health"])
    def get(self, request):
        checks = {name: _run(name, settings.HEALTH_TIMEOUT) for name in PROBES}
        healthy = all(check["ok"] for check in checks.values())
        return Response({"status": "ok" if healthy else "error", "checks": checks},
                        status=200 if healthy else 503, headers={"Cache-Control": "no-store"})
