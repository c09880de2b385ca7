"""/metrics: off without a token or allow-list, refused without them, Prometheus text that parses
and moves when work happens (submissions, queue, expired leases, sign-in failures and lockouts, live
share bytes, requests and their latency, database latency, pool connections in use); with several
gunicorn workers a scrape sums all of them."""

import threading
import time
from datetime import timedelta

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests.accounts.conftest import api_login
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.fileshare.helpers import PDF, upload
from tests.live import gunicorn
from tests.submissions.helpers import make_submission

TOKEN = "metrics-test-token-0123456789"


def samples(text: str) -> dict:
    """{(name, frozenset(labels)): value} from the exposition text (the parser raises on bad text)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def scrape(client, **headers):
    return client.get("/metrics", **headers)


@pytest.mark.django_db
def test_metrics_are_off_without_token_or_allow_list(settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS = "", []
    assert scrape(Client()).status_code == 404


@pytest.mark.django_db
def test_metrics_refuse_a_missing_or_wrong_token_and_an_address_off_the_list(settings):
    import ipaddress

    settings.METRICS_TOKEN = TOKEN
    assert scrape(Client()).status_code == 403
    assert scrape(Client(), HTTP_AUTHORIZATION="Bearer nope").status_code == 403
    assert scrape(Client(), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]
    assert scrape(Client(), REMOTE_ADDR="127.0.0.1").status_code == 403
    assert scrape(Client(), REMOTE_ADDR="10.1.2.3").status_code == 200


class HeldConnection:
    """A database connection held by another thread, as a request in progress holds one (from the
    pool on PostgreSQL); released on exit."""

    def __enter__(self):
        self.opened, self.release = threading.Event(), threading.Event()

        def hold():
            connection.ensure_connection()
            self.opened.set()
            self.release.wait(30)
            connection.close()  # back to the pool

        self.thread = threading.Thread(target=hold)
        self.thread.start()
        assert self.opened.wait(30)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)


def _pooled() -> bool:
    return connection.vendor == "postgresql" and "pool" in connection.settings_dict["OPTIONS"]


# The database families are read in a probe thread (its own connection): committed rows only.
@pytest.mark.django_db(transaction=True)
def test_metrics_parse_and_move_with_work(settings, tmp_path, owner, owner_client):
    settings.METRICS_TOKEN = TOKEN
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
    before = samples(scrape(Client(), **auth).content.decode())
    make_submission(owner)
    make_submission(owner, status="error")
    past, future = timezone.now() - timedelta(minutes=5), timezone.now() + timedelta(minutes=5)
    make_submission(owner, status="running", lease_expires_at=past)  # its worker died: the lease ran out
    make_submission(owner, status="running", lease_expires_at=future)  # still being worked on
    health = Client().get("/api/health").status_code  # 503: queued work, no worker
    assert owner_client.get("/api/submissions").status_code == 200  # queries in the request's own thread
    # Five wrong passwords lock the account; the sixth attempt is refused without a check.
    victim = UserFactory()
    assert [api_login(make_client(), victim.email, "senha-errada-123").status_code for _ in range(5)] == [400] * 5
    assert api_login(make_client(), victim.email, "senha-errada-123").status_code == 429
    assert upload(owner_client, PDF).status_code == 201
    with HeldConnection():  # a request in progress while Prometheus scrapes
        after = samples(scrape(Client(), **auth).content.decode())

    def delta(name, **labels):
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert after[("agepar_scrape_error", frozenset({"source": "database"}.items()))] == 0
    assert delta("agepar_submissions", status="queued") == 1 and delta("agepar_submissions", status="error") == 1
    assert delta("agepar_submissions", status="running") == 2
    assert delta("agepar_queue_depth") == 1
    assert delta("agepar_submission_leases_expired") == 1
    assert delta("agepar_login_failures_5m") == 5 and delta("agepar_lockouts_5m") == 1
    assert delta("agepar_fileshare_live_bytes") == len(PDF)
    assert delta("agepar_http_requests_total", view="health", method="GET", status=str(health)) == 1
    assert delta("agepar_http_request_duration_seconds_count", view="health") == 1
    assert delta("agepar_db_query_duration_seconds_count") > 0
    if _pooled():  # only a PostgreSQL pool has connections to count
        assert delta("agepar_db_pool_connections", state="in_use") == 1
    else:
        assert not [name for name, _ in after if name == "agepar_db_pool_connections"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_scrape_sums_every_gunicorn_worker(tmp_path):
    UserFactory()  # something in the database
    with gunicorn(tmp_path, workers=2, METRICS_TOKEN=TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom")) as base:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert requests.get(f"{base}/metrics", timeout=30).status_code == 403

        def pids() -> set[str]:  # the workers that have counted something: one file each
            return {path.name.split("_")[-1] for path in (tmp_path / "prom").glob("counter_*.db")}

        # New connections until both workers have answered some: which worker accepts one is the
        # kernel's choice (on a loaded machine the second may still be booting for the first dozens).
        sent, deadline = 0, time.monotonic() + 60
        while sent < 20 or (len(pids()) < 2 and time.monotonic() < deadline):
            requests.get(f"{base}/api/health", timeout=30, headers={"Connection": "close"})
            sent += 1
        text = requests.get(f"{base}/metrics", headers=auth, timeout=30).text
        assert len(pids()) == 2, pids()
    health = samples(text)[("agepar_http_requests_total", frozenset(
        {"view": "health", "method": "GET", "status": "200"}.items()))]
    assert health >= sent  # those above (plus gunicorn's readiness probes), whichever worker served them


@pytest.mark.django_db
def test_the_shipped_alerts_and_dashboard_use_only_metrics_we_export(settings, tmp_path):
    import json
    import re

    import yaml

    from tests.live import ROOT

    settings.METRICS_TOKEN = TOKEN
    settings.BACKUP_DIR = tmp_path
    (tmp_path / "agepar-20260101T030000Z").mkdir()
    Client().get("/api/health")  # one request, so the per-request families have samples
    exported = {name for name, _ in samples(scrape(Client(), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode())}
    monitoring = ROOT / "deploy" / "monitoring"
    rules = yaml.safe_load((monitoring / "alerts.yml").read_text())["groups"][0]["rules"]
    dashboard = json.loads((monitoring / "grafana-dashboard.json").read_text())
    expressions = [rule["expr"] for rule in rules] + [target["expr"] for panel in dashboard["panels"]
                                                      for target in panel["targets"]]
    used = {name for expr in expressions for name in re.findall(r"\bagepar_\w+", re.sub(r'"[^"]*"', "", expr))}
    assert {"agepar_queue_oldest_age_seconds", "agepar_backup_last_success_timestamp_seconds"} <= used
    if connection.vendor != "postgresql":
        exported.add("agepar_db_pool_connections")  # only a PostgreSQL pool has connections to count
    assert used <= exported, used - exported
    assert {rule["alert"] for rule in rules} >= {"AgeparHealthFailing", "AgeparQueueWaiting", "Agepar5xxRate",
                                                 "AgeparDatabaseSlow", "AgeparBackupTooOld"}
