"""`make run` (deploy/run-dev.sh) brings up web + worker, and a form2json submission made
through the API reaches `done` with no other command."""

import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from tests.live import ROOT, free_port
from tests.submissions.conftest import FORM
from tests.submissions.helpers import wait_for


def _login(session, base, email, password):
    """The login API when present; otherwise Django's admin login form (same session cookie)."""
    token = session.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
    response = session.post(f"{base}/api/auth/login", json={"identifier": email, "password": password},
                            headers={"X-CSRFToken": token}, timeout=10)
    if response.status_code == 200:
        return
    session.get(f"{base}/admin/login/", timeout=10)
    response = session.post(f"{base}/admin/login/?next=/admin/", timeout=10, allow_redirects=False,
                            data={"username": email, "password": password,
                                  "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 302, response.text[:300]


@pytest.mark.slow
def test_make_run_serves_and_works_submissions(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE",
                                                            "SECRET_KEY", "ALLOWED_HOSTS", "TASKS_BACKEND")}
    env.update(DEBUG="1", PORT=str(port), VAR_DIR=str(tmp_path / "var"), PY=sys.executable,
               UPLOAD_ROOT=str(tmp_path / "uploads"))
    log_path = tmp_path / "run-dev.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(["bash", "deploy/run-dev.sh"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            if process.poll() is not None:
                raise AssertionError(f"run-dev.sh exited: {log_path.read_text()[-3000:]}")
            try:
                return requests.get(f"{base}/api/health", timeout=5).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(healthy, timeout=120, interval=0.5, what="make run to serve /api/health")
        found = re.search(r"e-mail: (\S+)\s+password: (\S+)", log_path.read_text())
        assert found, log_path.read_text()[-3000:]
        session = requests.Session()
        _login(session, base, found[1], found[2])
        headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": base + "/"}
        created = session.post(f"{base}/api/submissions", json={"kind": "form2json", "payload": FORM},
                               headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        wait_for(lambda: session.get(f"{base}/api/submissions/{sid}", timeout=10).json()["status"] == "done",
                 timeout=60, interval=0.5, what=f"the worker to finish submission {sid}")
        result = session.get(f"{base}/api/submissions/{sid}/result", timeout=10)
        assert result.status_code == 200 and result.json()["metadata"]["engine"] == "form2json@1.0.0"
    finally:
        # The script's own process group: bash, runserver (and its reloader child), db_worker, requeue_stale.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
