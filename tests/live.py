"""Real server processes for tests: gunicorn with the deploy config, talking to the test database."""

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.db import connection

from bench.harness import PRODUCTION_ENV, ROOT, free_port, serve, stop  # noqa: F401 (the tests' names for them)


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
    """The app under gunicorn, production settings, on the test database; yields its base URL."""
    env = production_env(tmp_path, WEB_CONCURRENCY=str(workers), **env_overrides)
    with serve(env, tmp_path, wait_for_health=wait_for_health) as base:
        yield base


@contextlib.contextmanager
def moto_server(log_dir: Path):
    """moto's S3 in server mode (a real HTTP S3 API) on a free loopback port; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_dir / f"moto-{port}.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(endpoint, timeout=2)
                    break
                except (requests.ConnectionError, requests.Timeout):  # a loaded machine: not listening, or slow
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("moto server did not start") from None
                    time.sleep(0.2)
            yield endpoint
        finally:
            stop(process, timeout=10)
