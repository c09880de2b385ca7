"""The lag-tolerant lists read a real streaming replica, the rest the primary.

The set-up builds a PostgreSQL primary and a streaming replica of it (`pg_basebackup -R`) on two
loopback ports of their own (tests/ops/clusters.py), migrates the primary, and runs gunicorn with
DATABASE_URL = the primary and REPLICA_DATABASE_URL = the replica. Pausing the replica's WAL replay
(`pg_wal_replay_pause()`) makes "which database answered" visible from outside: a row written
since is on the primary only.
"""

import csv
import io
import subprocess
import sys
import time

import pytest
import requests

from tests.live import ROOT, collected_static, serve, signed_in
from tests.ops import pg
from tests.ops.clusters import PrimaryAndReplica
from tests.submissions.conftest import FORM
from tests.submissions.helpers import wait_for

pytestmark = pytest.mark.slow
EMAIL, PASSWORD = "rita.replica@agepar.go.gov.br", "uma-senha-bem-longa-42"
CREATE_USER = f"""
from django.contrib.auth.models import Group
from accounts.models import User
user = User.objects.create_user(email={EMAIL!r}, password={PASSWORD!r}, nome="Rita Réplica",
                            must_change_password=False, is_staff=True)
user.groups.set(Group.objects.filter(name__in=["admin", "automations.form2json"]))
"""


@pytest.fixture(scope="module")
def clusters():
    if not pg.is_postgres():
        pytest.skip("PostgreSQL only: runs with the PostgreSQL suite")
    with PrimaryAndReplica() as (primary, replica):
        yield primary, replica


@pytest.fixture(scope="module")
def portal(clusters, tmp_path_factory):
    """The migrated primary with one admin, replicated; yields (primary, replica, var_dir)."""
    primary, replica = clusters
    primary.execute("CREATE DATABASE agepar")
    var = tmp_path_factory.mktemp("replica-portal")
    env = pg.clean_env(DATABASE_URL=primary.url("agepar"), DB_POOL="0", VAR_DIR=str(var))
    for command in (["migrate", "--noinput", "-v", "0"], ["init_db"], ["shell", "-c", CREATE_USER]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True,
                       capture_output=True, text=True, timeout=600)
    wait_for(lambda: replica.execute("SELECT 1 FROM accounts_user", dbname="agepar"), timeout=60,
             what="the replica to replay the migrations")
    return primary, replica, var


def _server(portal, tmp_path, **env):
    primary, replica, var = portal
    return serve(pg.clean_env(DATABASE_URL=primary.url("agepar"), REPLICA_DATABASE_URL=replica.url("agepar"),
                              REPLICA_CHECK_INTERVAL="0", VAR_DIR=str(var), UPLOAD_ROOT=str(tmp_path / "uploads"),
                              STATIC_ROOT=collected_static(),  # the admin's pages render static URLs
                              **env), tmp_path, wait_for_health=False)  # 503 while submissions wait for a worker


def _create(session: requests.Session, base: str) -> int:
    created = session.post(f"{base}/api/submissions", json={"kind": "form2json", "payload": FORM}, timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _listed_ids(session: requests.Session, base: str) -> list[int]:
    response = session.get(f"{base}/api/submissions", timeout=30)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["results"]]


def _audited_targets(session: requests.Session, base: str) -> list[str]:
    response = session.get(f"{base}/api/audits", params={"action": "submission.created"}, timeout=30)
    assert response.status_code == 200, response.text
    return [row["target_id"] for row in response.json()["results"]]


def _replica_check(base: str) -> dict:
    response = requests.get(f"{base}/api/health", timeout=30)
    checks = response.json()["checks"]
    # A replica's trouble is never a 503 (the queued submissions with no worker here may be).
    others_fail = any(not check["ok"] for name, check in checks.items() if name != "replica")
    assert response.status_code == (503 if others_fail else 200), response.text
    return checks["replica"]


class _ReplayPaused:
    def __init__(self, replica):
        self.replica = replica

    def __enter__(self):
        self.replica.execute("SELECT pg_wal_replay_pause()")

    def __exit__(self, *exc):
        self.replica.execute("SELECT pg_wal_replay_resume()")


def test_lists_read_the_replica_and_catch_up_while_sign_in_writes_and_details_use_the_primary(portal, tmp_path):
    _, replica, _ = portal
    with _server(portal, tmp_path, REPLICA_MAX_LAG="3600") as base:
        with _ReplayPaused(replica):
            # Sign-in writes a session and the next request reads it: both on the primary.
            session = signed_in(base, EMAIL, PASSWORD)
            assert session.get(f"{base}/api/me", timeout=30).status_code == 200
            created = _create(session, base)
            # The write is visible on the primary at once...
            detail = session.get(f"{base}/api/submissions/{created}", timeout=30)
            assert detail.status_code == 200 and detail.json()["id"] == created
            # ...and the lists, served by the paused replica, do not have it yet.
            assert created not in _listed_ids(session, base)
            assert str(created) not in _audited_targets(session, base)
            check = _replica_check(base)
            assert check["ok"] is True and check["serving"] == "replica"
        # Replay resumed: the replica catches up and so do the lists.
        wait_for(lambda: created in _listed_ids(session, base), timeout=30, what="the list to catch up")
        assert str(created) in _audited_targets(session, base)


def _admin_listed(session: requests.Session, base: str, created: int) -> bool:
    response = session.get(f"{base}/admin/submissions/submission/", timeout=30)
    assert response.status_code == 200, response.text
    return f"/admin/submissions/submission/{created}/change/" in response.text


def _admin_exported_submissions(session: requests.Session, base: str) -> list[str]:
    response = session.get(f"{base}/admin/audits/auditevent/exportar.csv", timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv"), response.text
    header, *rows = csv.reader(io.StringIO(response.content.decode("utf-8-sig")))
    kind, target = header.index("target_type"), header.index("target_id")
    return [row[target] for row in rows if row[kind] == "submissions.submission"]


def test_the_admin_changelist_and_audit_csv_read_the_replica_and_a_change_page_the_primary(portal, tmp_path):
    _, replica, _ = portal
    with _server(portal, tmp_path, REPLICA_MAX_LAG="3600") as base:
        session = signed_in(base, EMAIL, PASSWORD)
        with _ReplayPaused(replica):
            created = _create(session, base)
            # The change page finds the new row (the admin redirects away from a missing one): the primary.
            page = session.get(f"{base}/admin/submissions/submission/{created}/change/", timeout=30,
                               allow_redirects=False)
            assert page.status_code == 200, page.status_code
            # The paused replica has neither the row nor its event: the changelist and the export read it.
            assert not _admin_listed(session, base, created)
            assert str(created) not in _admin_exported_submissions(session, base)
        wait_for(lambda: _admin_listed(session, base, created), timeout=30, what="the changelist to catch up")
        assert str(created) in _admin_exported_submissions(session, base)


def test_a_replica_lagging_more_than_replica_max_lag_hands_the_lists_to_the_primary(portal, tmp_path):
    _, replica, _ = portal
    with _server(portal, tmp_path, REPLICA_MAX_LAG="1") as base:
        session = signed_in(base, EMAIL, PASSWORD)
        wait_for(lambda: _replica_check(base)["serving"] == "replica", timeout=30, what="the replica to catch up")
        with _ReplayPaused(replica):
            created = _create(session, base)
            time.sleep(1.5)  # the replica is now more than REPLICA_MAX_LAG behind
            check = _replica_check(base)
            assert check["ok"] is False and check["serving"] == "primary" and check["lag_seconds"] > 1
            assert "REPLICA_MAX_LAG" in check["error"]
            assert created in _listed_ids(session, base)
        wait_for(lambda: _replica_check(base)["serving"] == "replica", timeout=30, what="the replica to catch up")


def test_lists_still_answer_when_the_replica_is_stopped(portal, tmp_path):
    _, replica, _ = portal
    with _server(portal, tmp_path, REPLICA_MAX_LAG="3600") as base:
        session = signed_in(base, EMAIL, PASSWORD)
        assert _listed_ids(session, base)  # warm: the worker holds a connection to the replica
        replica.stop()
        try:
            created = _create(session, base)
            assert created in _listed_ids(session, base)
            assert str(created) in _audited_targets(session, base)
            check = _replica_check(base)
            assert check["ok"] is False and check["serving"] == "primary"
            assert check["error"].startswith("unreachable")
        finally:
            replica.start()
        wait_for(lambda: _replica_check(base)["serving"] == "replica", timeout=60, what="the replica to return")
