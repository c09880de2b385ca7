"""/api/health during a database outage: 503 quickly (not 500, not hanging), 200 again within a few
seconds of the database coming back — issue 7 item 4. /metrics keeps answering through it, with
the database's figures left out and flagged (issue 15).

gunicorn (deploy config, connection pool on) reaches PostgreSQL through a TCP proxy the test cuts,
so the outage is real for the application while the shared server keeps running.
"""

import contextlib
import time

import pytest
import requests
from django.db import connection

from bench.tcp_proxy import TcpProxy
from tests import live
from tests.agepar.test_metrics import samples

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HEALTH_TIMEOUT = 2
APPLICATION_NAME = "agepar-health-outage-test"


def _health(base: str) -> tuple[int, dict, float]:
    started = time.monotonic()
    response = requests.get(f"{base}/api/health", timeout=HEALTH_TIMEOUT + 20)
    return response.status_code, response.json(), time.monotonic() - started


def _outage_answers(base: str, *, seconds: float, expected_error: str | None = None) -> list[float]:
    """Poll health for a while: every answer must be a prompt, well-formed 503 naming the database."""
    durations = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, body, took = _health(base)
        assert status == 503, body
        assert body["status"] == "error"
        assert body["checks"]["database"]["ok"] is False
        assert body["checks"]["storage"]["ok"] is True
        if expected_error:
            assert body["checks"]["database"]["error"] == expected_error
        durations.append(took)
        time.sleep(0.3)
    assert max(durations) < HEALTH_TIMEOUT + 1.5, durations
    print(f"{len(durations)} answers during the outage, all 503, slowest {max(durations):.2f}s")  # noqa: T201
    return durations


def _seconds_to_recovery(base: str, *, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        status, body, _ = _health(base)
        if status == 200:
            assert body["checks"]["database"]["ok"] is True
            recovered = time.monotonic() - started
            print(f"/api/health 200 again {recovered:.1f}s after the database came back")  # noqa: T201 (shown with -s)
            return recovered
        assert status == 503, body
        time.sleep(0.2)
    pytest.fail(f"/api/health still not 200 {limit}s after the database came back")


@contextlib.contextmanager
def _proxied_gunicorn(tmp_path, **env):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the outage is cut between gunicorn and the PostgreSQL server")
    s = connection.settings_dict
    proxy = TcpProxy(s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432))
    proxy.up()
    url = live.test_database_url().replace(f":{s['PORT'] or 5432}/", f":{proxy.port}/")
    url += f"?application_name={APPLICATION_NAME}"
    try:
        with live.gunicorn(tmp_path, HEALTH_TIMEOUT=str(HEALTH_TIMEOUT), DATABASE_URL=url, **env) as base:
            yield proxy, base
    finally:
        proxy.down()
        _wait_for_backends_to_exit()


@pytest.fixture
def proxied_server(tmp_path):
    with _proxied_gunicorn(tmp_path) as server:
        yield server


def _wait_for_backends_to_exit() -> None:
    # The proxied sessions end a moment after their sockets close; the test database is dropped
    # at the end of the run and PostgreSQL refuses while other sessions are still attached.
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME])
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.1)


def test_health_answers_503_while_the_database_refuses_connections_and_200_soon_after(proxied_server):
    proxy, base = proxied_server
    assert _health(base)[0] == 200

    proxy.down()  # every pooled connection reset, new ones refused
    _outage_answers(base, seconds=6)

    proxy.up()
    assert _seconds_to_recovery(base, limit=10) < 10


def test_health_answers_503_in_time_while_the_database_hangs_and_200_soon_after(proxied_server):
    proxy, base = proxied_server
    assert _health(base)[0] == 200

    proxy.hang()  # connections accepted, never answered: the probe must not hang the request
    _outage_answers(base, seconds=6, expected_error="timeout")

    proxy.up()
    assert _seconds_to_recovery(base, limit=15) < 15


@pytest.fixture
def server_with_short_pool_timeout(tmp_path):
    # API requests wait DB_POOL_TIMEOUT for a connection before giving up; 3 s keeps the test short.
    with _proxied_gunicorn(tmp_path, DB_POOL_TIMEOUT="3") as server:
        yield server


def test_api_requests_get_a_retryable_503_not_a_500_while_the_database_is_down(server_with_short_pool_timeout):
    proxy, base = server_with_short_pool_timeout
    client = requests.Session()
    token = client.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
    attempt = {"identifier": "ninguem@agepar.go.gov.br", "password": "nao-importa-123"}

    proxy.down()
    response = client.post(f"{base}/api/auth/login", json=attempt, headers={"X-CSRFToken": token}, timeout=30)
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "database_unavailable"
    assert response.headers["Retry-After"]

    proxy.up()
    _seconds_to_recovery(base, limit=10)
    response = client.post(f"{base}/api/auth/login", json=attempt, headers={"X-CSRFToken": token}, timeout=30)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


METRICS_TOKEN = "outage-metrics-token-0123456789"


def _scrape(base: str) -> dict:
    response = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                            timeout=HEALTH_TIMEOUT + 20)
    assert response.status_code == 200, response.text
    return samples(response.text)  # parses, or raises


def _database_figures(scraped: dict) -> tuple[float, bool]:
    error = scraped[("agepar_scrape_error", frozenset({"source": "database"}.items()))]
    return error, ("agepar_queue_depth", frozenset()) in scraped


def test_metrics_answer_while_the_database_is_down_or_hangs(tmp_path):
    with _proxied_gunicorn(tmp_path, METRICS_TOKEN=METRICS_TOKEN) as (proxy, base):
        assert _database_figures(_scrape(base)) == (0, True)

        proxy.down()
        scraped = _scrape(base)
        assert _database_figures(scraped) == (1, False)
        # What each process counted itself is still there: the scrape before this one, for example.
        assert scraped[("agepar_http_requests_total", frozenset(
            {"view": "metrics", "method": "GET", "status": "200"}.items()))] >= 1

        proxy.hang()
        started = time.monotonic()
        assert _database_figures(_scrape(base)) == (1, False)
        assert time.monotonic() - started < HEALTH_TIMEOUT + 1.5  # within Prometheus' scrape timeout

        proxy.up()
        _seconds_to_recovery(base, limit=15)
        assert _database_figures(_scrape(base)) == (0, True)
