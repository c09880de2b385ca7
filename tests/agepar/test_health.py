from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from submissions.models import Submission, WorkerHeartbeat
from tests.live import free_port, gunicorn
from tests.submissions.helpers import make_submission


def test_it_reports_both_checks_with_latency(anon_client):
    response = anon_client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["checks"]["storage"] == {"ok": True}


def test_it_leaves_no_probe_file_behind(anon_client, settings):
    anon_client.get("/api/health")
    leftovers = list((settings.UPLOAD_ROOT / "health").glob("*")) if (settings.UPLOAD_ROOT / "health").exists() else []
    assert leftovers == []


def test_it_names_storage_when_storage_fails(anon_client, settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the upload folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker)}}}
    response = anon_client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["status"] == "error"
    assert response.json()["checks"]["storage"]["ok"] is False
    assert response.json()["checks"]["database"]["ok"] is True


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_gunicorn_serves_health_with_the_deploy_config(tmp_path):
    with gunicorn(tmp_path) as base:
        response = requests.get(f"{base}/api/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["checks"]["database"]["ok"] is True
    assert response.headers["X-Request-ID"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_answers_503_naming_database_when_the_database_is_unreachable(tmp_path):
    # A real PostgreSQL URL on a port where nothing listens: the driver fails for real.
    closed = free_port()
    with gunicorn(tmp_path, wait_for_health=False, HEALTH_TIMEOUT="2",
                  DATABASE_URL=f"postgresql://postgres@127.0.0.1:{closed}/agepar") as base:
        response = requests.get(f"{base}/api/health", timeout=20)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["storage"]["ok"] is True


def test_it_names_cache_when_the_shared_cache_does_not_answer(anon_client, settings):
    closed = free_port()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{closed}/0"}}
    response = anon_client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == {"ok": False, "error": "ConnectionError"}
    assert response.json()["checks"]["database"]["ok"] is True


def test_the_cache_check_round_trips_a_value(anon_client):
    cache_check = anon_client.get("/api/health").json()["checks"]["cache"]
    assert cache_check["ok"] is True and cache_check["latency_ms"] >= 0


def _beat(seconds_ago: float) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(worker_id="w1", defaults={
        "hostname": "h", "pid": 1, "started_at": now, "seen_at": now - timedelta(seconds=seconds_ago)})


@pytest.mark.django_db(transaction=True)  # the probes read from their own threads' connections
def test_worker_fails_only_while_work_waits_and_no_worker_beats(anon_client, owner, settings):
    settings.WORKER_HEARTBEAT_SECONDS = 5
    idle = anon_client.get("/api/health").json()["checks"]["worker"]
    assert idle == {"ok": True, "queued": 0, "oldest_queued_seconds": None, "last_heartbeat_seconds": None}

    make_submission(owner, deleted_at=timezone.now())  # withdrawn: never run, so waits for no worker
    assert anon_client.get("/api/health").status_code == 200
    waiting = make_submission(owner)
    Submission.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - timedelta(seconds=90))
    make_submission(owner)
    response = anon_client.get("/api/health")
    assert response.status_code == 503
    check = response.json()["checks"]["worker"]
    assert check["ok"] is False and check["error"] == "no_worker" and check["queued"] == 2
    assert check["oldest_queued_seconds"] >= 90

    _beat(seconds_ago=1)  # a live worker: the queue is only busy
    response = anon_client.get("/api/health")
    assert response.status_code == 200
    assert 1 <= response.json()["checks"]["worker"]["last_heartbeat_seconds"] < 15

    _beat(seconds_ago=16)  # three periods (15 s) without a beat: the worker is gone
    response = anon_client.get("/api/health")
    assert response.status_code == 503 and response.json()["checks"]["worker"]["error"] == "no_worker"
