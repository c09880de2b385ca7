"""Prometheus metrics at GET /metrics (prometheus-client), for gunicorn's several worker processes.

Two kinds:
- per process, recorded as work happens (requests by view and status with their latency, database
  query latency, pool usage): with PROMETHEUS_MULTIPROC_DIR set (deploy/gunicorn.conf.py sets it and
  cleans a dead worker's files), every worker writes its samples there and a scrape answered by any
  worker sums them all;
- read from the database when scraped (submissions by status, queue depth and oldest queued age,
  expired leases, last worker heartbeat, recent sign-in failures and lockouts, live share bytes,
  the newest backup): one small query each, the same whichever process answers.

/metrics is off (404) unless METRICS_TOKEN (a bearer token) or METRICS_ALLOWED_IPS (addresses or
networks) is set; a scrape must then satisfy what is set.
"""

import hmac
import ipaddress
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from agepar import probes
from agepar.request_info import client_ip

logger = logging.getLogger(__name__)

REQUESTS = Counter("agepar_http_requests_total", "HTTP requests answered, by view and status.",
                   ["view", "method", "status"])
REQUEST_SECONDS = Histogram("agepar_http_request_duration_seconds", "Time to answer a request, by view.", ["view"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DB_QUERY_SECONDS = Histogram("agepar_db_query_duration_seconds", "Time of each database query made by a request.",
                             buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5))
POOL_CONNECTIONS = Gauge("agepar_db_pool_connections", "Connections of this process's pool, by state.", ["state"],
                         multiprocess_mode="livesum")

RECENT = timedelta(minutes=5)


def observe_request(request, response, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    view = (match.view_name or match.route or "unnamed") if match else "unmatched"
    REQUESTS.labels(view, request.method, str(response.status_code)).inc()
    REQUEST_SECONDS.labels(view).observe(seconds)


def time_query(execute, sql, params, many, context):
    """A connection.execute_wrapper: each query's duration into DB_QUERY_SECONDS."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        DB_QUERY_SECONDS.observe(time.perf_counter() - started)


def _record_pool() -> None:
    pool = getattr(connections["default"], "pool", None)
    if pool is None:
        return
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    POOL_CONNECTIONS.labels("in_use").set(size - available)
    POOL_CONNECTIONS.labels("idle").set(available)
    POOL_CONNECTIONS.labels("waiting").set(stats.get("requests_waiting", 0))


def _newest_backup_timestamp() -> float | None:
    backups = Path(settings.BACKUP_DIR)
    stamps = [path.stat().st_mtime for path in backups.glob("agepar-*") if not path.name.endswith(".partial")]
    return max(stamps) if stamps else None


def _database_families() -> list[GaugeMetricFamily]:
    """What the database says now: one small query per family (run by agepar.probes, under a deadline)."""
    from audits.models import AuditEvent
    from fileshare.models import FileShareItem
    from submissions.models import Submission
    from submissions.selectors import queue_state

    try:
        now = timezone.now()
        by_status = GaugeMetricFamily("agepar_submissions", "Submissions by status.", labels=["status"])
        counts = dict(Submission.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
        for status in Submission.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        state = queue_state()
        recent = AuditEvent.objects.filter(at__gte=now - RECENT)
        return [
            by_status,
            GaugeMetricFamily("agepar_queue_depth", "Submissions waiting for a worker.", value=state.depth),
            GaugeMetricFamily("agepar_queue_oldest_age_seconds", "How long the oldest queued submission has waited.",
                              value=state.oldest_age_seconds or 0),
            GaugeMetricFamily("agepar_worker_last_heartbeat_age_seconds",
                              "Since the newest worker heartbeat (-1: none ever).",
                              value=-1 if state.worker_last_seen_seconds is None else state.worker_last_seen_seconds),
            GaugeMetricFamily("agepar_submission_leases_expired", "Running submissions whose worker lease expired.",
                              value=Submission.objects.filter(status=Submission.Status.RUNNING,
                                                              lease_expires_at__lt=now).count()),
            GaugeMetricFamily("agepar_login_failures_5m", "Failed sign-ins in the last 5 minutes.",
                              value=recent.filter(action="auth.login", status="failure").count()),
            GaugeMetricFamily("agepar_lockouts_5m", "Sign-in lockouts in the last 5 minutes.",
                              value=recent.filter(action="auth.locked_out").count()),
            GaugeMetricFamily("agepar_fileshare_live_bytes", "Bytes of live (unexpired, undeleted) shares.",
                              value=FileShareItem.objects.live(now).aggregate(total=Sum("size"))["total"] or 0),
        ]
    finally:
        connections.close_all()  # this thread's connection goes back to the pool


class DatabaseCollector:
    """What the database says at scrape time (the same answer from every process).

    While the database is down or hangs, a scrape still answers within HEALTH_TIMEOUT: the
    database families are left out and agepar_scrape_error{source="database"} is 1, so the
    per-process series (requests, 5xx, latency) keep reaching Prometheus during the outage.
    """

    def collect(self):
        try:
            families = probes.wait(probes.start("metrics.database", _database_families),
                                   time.monotonic() + settings.HEALTH_TIMEOUT)
        except Exception as exc:  # the database's failure is a gauge, never a failed scrape
            logger.warning("metrics: database figures left out of this scrape: %s", type(exc).__name__)
            families = []
        yield from families
        error = GaugeMetricFamily("agepar_scrape_error", "1 when a source could not be read for this scrape "
                                  "(its families are left out).", labels=["source"])
        error.add_metric(["database"], 0 if families else 1)
        yield error
        newest = _newest_backup_timestamp()
        if newest is not None:
            yield GaugeMetricFamily("agepar_backup_last_success_timestamp_seconds",
                                    "When the newest complete local backup was written.", value=newest)


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        for metric in (REQUESTS, REQUEST_SECONDS, DB_QUERY_SECONDS, POOL_CONNECTIONS):
            registry.register(metric)
    registry.register(DatabaseCollector())
    return registry


def _allowed(request) -> bool:
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        raise Http404
    if token:
        supplied = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            return False
    if networks:
        try:
            address = ipaddress.ip_address(client_ip(request) or "")
        except ValueError:
            return False
        if not any(address in network for network in networks):
            return False
    return True


def metrics_view(request):
    if not _allowed(request):
        return HttpResponse("Acesso negado.\n", status=403, content_type="text/plain; charset=utf-8",
                            headers={"WWW-Authenticate": "Bearer"})
    _record_pool()
    body = generate_latest(_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
