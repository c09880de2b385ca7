"""Real server processes for tests: gunicorn with the deploy config, talking to the test database."""

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
from django.db import connection

from bench.harness import PRODUCTION_ENV, ROOT, free_port, moto_server, serve, stop  # noqa: F401 (the tests' names)


def test_database_url() -> str:
    """A DATABASE_URL for the database the current test runs on (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgresql://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@functools.cache
def collected_static() -> str:
    """A STATIC_ROOT filled by collectstatic, once per test run, as a deployment does before start:
    with DEBUG=0 the manifest storage refuses to render a page whose static file it has no entry for."""
    root = tempfile.mkdtemp(prefix="agepar-static-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, check=True,
                   env={**os.environ, **PRODUCTION_ENV, "STATIC_ROOT": root, "VAR_DIR": str(Path(root) / "var")})
    return root


def production_env(tmp_path: Path, **overrides: str) -> dict:
    env = {**os.environ, **PRODUCTION_ENV, "VAR_DIR": str(tmp_path / "var"), "STATIC_ROOT": collected_static(),
           "UPLOAD_ROOT": str(tmp_path / "uploads"), "DATABASE_URL": test_database_url()}
    env.update(overrides)
    return env


@contextlib.contextmanager
def gunicorn(tmp_path: Path, *, workers: int = 1, wait_for_health: bool = True, **env_overrides: str):
    """The app under gunicorn, production settings, on the test database; yields its base URL."""
    env = production_env(tmp_path, WEB_CONCURRENCY=str(workers), **env_overrides)
    with serve(env, tmp_path, wait_for_health=wait_for_health) as base:
        yield base


def signed_in(base: str, email: str, password: str, *, verify=True) -> requests.Session:
    """A session signed in through the login API of the server at `base`, CSRF header set for writes."""
    session = requests.Session()
    # Loopback only: no proxies, and `verify` is not overridden by REQUESTS_CA_BUNDLE (requests
    # lets the environment win over a session's verify).
    session.trust_env = False
    session.verify = verify
    token = session.get(f"{base}/api/auth/csrf", timeout=30).json()["csrfToken"]
    session.headers.update({"X-CSRFToken": token, "Referer": base + "/"})
    response = session.post(f"{base}/api/auth/login", json={"identifier": email, "password": password}, timeout=30)
    assert response.status_code == 200, response.text
    session.headers["X-CSRFToken"] = session.cookies["csrftoken"]
    return session
