"""Real server processes for tests: gunicorn with the deploy config, talking to the test database."""

import contextlib
import os
from pathlib import Path

from django.db import connection

from bench.harness import PRODUCTION_ENV, ROOT, free_port, moto_server, serve, stop  # noqa: F401 (the tests' names)


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
