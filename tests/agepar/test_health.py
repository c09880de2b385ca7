import pytest
import requests

from tests.live import free_port, gunicorn


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
