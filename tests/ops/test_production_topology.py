"""The production topology on this machine, without Docker, from the shipped files.

    client --HTTPS--> nginx (deploy/nginx template, deploy/nginx/self-signed.sh certificate)
           --> gunicorn (deploy/gunicorn.conf.py, DEBUG=0, the app role)  + db_worker (the app role)
           --> PostgreSQL over TLS (sslmode=verify-full, the CA in the URL), Redis (CACHE_URL)

The database is a scratch PostgreSQL cluster of the test's own that accepts TCP over TLS only,
with a server certificate for 127.0.0.1/localhost signed by a CA the test generates; its roles come
from deploy/postgres/apply-roles.sh, its schema and the seeded administrator (SEED_ADMIN_*) from
deploy/as-migrator.sh, as docs/operations.md deploys them. Everything the client does goes through
nginx with certificate verification on.
"""

import contextlib
import signal
from types import SimpleNamespace

import pytest
import requests

from tests import redis_server
from tests.fileshare.helpers import PDF
from tests.live import production_env, serve, signed_in
from tests.ops import pg
from tests.ops.clusters import require_server_bin, tls_cluster
from tests.ops.nginx import nginx, require_nginx
from tests.ops.slow_clients import health_while_trickling
from tests.ops.tls import CertificateAuthority
from tests.submissions.conftest import FORM
from tests.submissions.helpers import db_worker, wait_for

pytestmark = pytest.mark.slow
EMAIL = "tania.topologia@agepar.go.gov.br"
SEED_PASSWORD, PASSWORD = "senha-inicial-bem-longa-7", "uma-senha-bem-longa-42"
# gunicorn's 2 workers x 4 threads = 8 request slots; twice as many slow clients (as in
# tests/ops/test_nginx_slow_clients.py, which shows them starving gunicorn when exposed directly).
SLOW_CLIENTS = 16


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    if not pg.is_postgres():
        pytest.skip("runs once, with the PostgreSQL suite (its database is a cluster of its own)")
    require_nginx()  # these three skip when missing, and fail under CI (.ci/run installs them)
    require_server_bin()
    cache = redis_server.client()
    tmp = tmp_path_factory.mktemp("topology")
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(tls_cluster(CertificateAuthority.create(tmp / "db-ca")))
        db = pg.RolesDatabase.create("topology", on=cluster.server)
        stack.callback(db.drop)
        for command in (("migrate", "--noinput", "-v", "0"), ("init_db",)):
            done = db.as_migrator(*command, var_dir=tmp / "var", SEED_ADMIN_EMAIL=EMAIL,
                                  SEED_ADMIN_PASSWORD=SEED_PASSWORD)
            assert done.returncode == 0, done.stderr
        stack.enter_context(redis_server.exclusive())
        cache.flushdb()  # the tests' own Redis database number
        stack.callback(cache.flushdb)
        env = dict(DATABASE_URL=db.app_url, CACHE_URL=redis_server.TEST_REDIS_URL, WORKER_HEARTBEAT_SECONDS="1",
                   USE_X_FORWARDED_PROTO="1", TRUSTED_PROXY_COUNT="1", SECURE_SSL_REDIRECT="1",
                   SESSION_COOKIE_SECURE="1", CSRF_COOKIE_SECURE="1")
        app = stack.enter_context(serve(production_env(tmp, WEB_CONCURRENCY="2", GUNICORN_THREADS="4", **env), tmp))
        proxy = stack.enter_context(nginx(tmp, app.removeprefix("http://")))
        # The seeded administrator's first sign-in: a new password before anything else.
        first = signed_in(proxy.https, EMAIL, SEED_PASSWORD, verify=str(proxy.ca_file))
        changed = first.post(f"{proxy.https}/api/auth/change-password", timeout=30,
                             json={"current_password": SEED_PASSWORD, "new_password": PASSWORD})
        assert changed.status_code == 204, changed.text
        yield SimpleNamespace(tmp=tmp, env=env, db=db, cluster=cluster, proxy=proxy, base=proxy.https,
                              verify=str(proxy.ca_file))


def _worker(topology, name: str):
    return db_worker(topology.tmp, name=name, **topology.env)


def _health(topology) -> requests.Response:
    return requests.get(f"{topology.base}/api/health", verify=topology.verify, timeout=30)


def _submit(session, topology) -> int:
    created = session.post(f"{topology.base}/api/submissions", json={"kind": "form2json", "payload": FORM},
                           timeout=30)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def _status(session, topology, submission: int) -> str:
    response = session.get(f"{topology.base}/api/submissions/{submission}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["status"]


def test_a_submission_and_a_share_go_end_to_end_and_slow_clients_do_not_starve_it(topology):
    base = topology.base
    with _worker(topology, "worker"):
        session = signed_in(base, EMAIL, PASSWORD, verify=topology.verify)
        submission = _submit(session, topology)
        wait_for(lambda: _status(session, topology, submission) == "done", timeout=60, what="the worker")

        shared = session.post(f"{base}/api/fileshare/items", data={"ttl": "1d"}, timeout=30,
                              files={"file": ("relatorio.pdf", PDF, "application/pdf")})
        assert shared.status_code == 201, shared.text
        link = shared.json()["link"]
        assert link.startswith(f"{base}/s/")  # built from what nginx forwarded: scheme, host and port
        downloaded = requests.get(f"{link}/download", verify=topology.verify, timeout=30)  # anonymous
        assert downloaded.status_code == 200 and downloaded.content == PDF

        outcomes, clients = health_while_trickling(base, topology.verify, SLOW_CLIENTS)
        assert outcomes == [200, 200, 200]
        assert [client.status for client in clients] == [400] * SLOW_CLIENTS  # reached the app, once complete

        health = _health(topology).json()["checks"]
        assert set(health) == {"database", "storage", "cache", "worker"} and all(c["ok"] for c in health.values())
        # Every connection of the app role (gunicorn's pools, the worker's) was made over TLS.
        ssl = topology.cluster.execute("SELECT bool_and(s.ssl), count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a"
                                       " USING (pid) WHERE a.usename = %s", (topology.db.app,))
        assert ssl[0][0] is True and ssl[0][1] > 0, ssl


def test_a_killed_worker_turns_health_to_503_worker_while_work_waits_until_one_is_back(topology):
    session = signed_in(topology.base, EMAIL, PASSWORD, verify=topology.verify)
    with _worker(topology, "worker-killed") as worker:
        wait_for(lambda: _health(topology).json()["checks"]["worker"]["last_heartbeat_seconds"] is not None,
                 timeout=60, what="the worker's heartbeat")
        worker.send_signal(signal.SIGKILL)  # no clean shutdown: its heartbeat row stays, ageing
        worker.wait()
    submission = _submit(session, topology)
    health = wait_for(lambda: (r := _health(topology)).status_code == 503 and r.json(), timeout=60,
                      what="health to turn 503")
    assert health["status"] == "error"
    assert {name for name, check in health["checks"].items() if not check["ok"]} == {"worker"}
    assert health["checks"]["worker"]["error"] == "no_worker" and health["checks"]["worker"]["queued"] == 1
    assert _status(session, topology, submission) == "queued"

    with _worker(topology, "worker-restarted"):
        wait_for(lambda: _status(session, topology, submission) == "done", timeout=60, what="the new worker")
        assert _health(topology).status_code == 200
