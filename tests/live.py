"""Real server processes for tests: gunicorn with the deploy config, talking to the test database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "agepar.settings",
    "DEBUG": "0",
    "SECRET_KEY": "live-test-secret-key-" + "0123456789abcdef" * 3,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_database_url() -> str:
    """A DATABASE_URL for the database the current test runs on (the test database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{s['PASSWORD']}" if s["PASSWORD"] else ""
    return f"postgresql://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def production_env(tmp_path: Path, **overrides: str) -> dict:
    env = {**os.environ, **PRODUCTION_ENV, "VAR_DIR": str(tmp_path / "var"),
           "UPLOAD_ROOT": str(tmp_path / "uploads"), "DATABASE_URL": test_database_url()}
    env.update(overrides)
    return env


@contextlib.contextmanager
def gunicorn(tmp_path: Path, *, workers: int = 1, wait_for_health: bool = True, **env_overrides: str):
    """Start gunicorn with deploy/gunicorn.conf.py and yield its base URL; stopped on exit."""
    port = free_port()
    env = production_env(tmp_path, GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers),
                         **env_overrides)
    log = open(tmp_path / f"gunicorn-{port}.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {(tmp_path / f'gunicorn-{port}.log').read_text()}")
            try:
                response = requests.get(f"{base}/api/health", timeout=5)
                if response.status_code == 200 or not wait_for_health:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready: {(tmp_path / f'gunicorn-{port}.log').read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
