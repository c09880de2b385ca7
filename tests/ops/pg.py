"""Throwaway PostgreSQL databases and roles for the operations tests, on the server the suite uses
(or on another `Server`, such as a scratch cluster of tests/ops/clusters.py).

Each database gets a random name derived from DATABASE_URL's own (so parallel runs never meet)
and its own owner/app roles created by deploy/postgres/apply-roles.sh; `drop()` removes all three.
"""

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from django.conf import settings

from agepar import env
from tests.live import PRODUCTION_ENV, ROOT

DEPLOY = ROOT / "deploy"


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server and a superuser of it; `options` (libpq parameters) go into every URL."""
    host: str
    port: int
    user: str
    password: str = ""
    dbname: str = "postgres"
    options: str = ""  # e.g. sslmode=verify-full&sslrootcert=/path/ca.pem

    def url(self, user: str, password: str, dbname: str) -> str:
        secret = f":{quote(password, safe='')}" if password else ""
        query = f"?{self.options}" if self.options else ""
        return f"postgresql://{quote(user, safe='')}{secret}@{self.host}:{self.port}/{dbname}{query}"

    def admin_url(self, dbname: str) -> str:
        return self.url(self.user, self.password, dbname)

    def admin_connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.admin_url(dbname), autocommit=True)


def server() -> Server:
    """DATABASE_URL's server, as configured (not the test database pytest-django switched to)."""
    s = env.database("DATABASE_URL", "")
    return Server(s["HOST"] or "127.0.0.1", int(s["PORT"] or 5432), s["USER"], s["PASSWORD"], s["NAME"])


def admin_url(dbname: str) -> str:
    return server().admin_url(dbname)


def admin_connect(dbname: str = "postgres") -> psycopg.Connection:
    return server().admin_connect(dbname)


def can_create_roles() -> bool:
    with admin_connect() as conn:
        return bool(conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0])


def clean_env(**overrides: str) -> dict:
    """The environment of a production process, minus any database setting inherited from pytest."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DATABASE_URL", "MIGRATE_DATABASE_URL", "TEST_DATABASE_NAME", "DJANGO_SETTINGS"))}
    return {**base, **PRODUCTION_ENV, "PYTHON": sys.executable, **overrides}


@dataclass
class RolesDatabase:
    name: str
    owner: str
    app: str
    server: Server
    owner_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    app_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @classmethod
    def create(cls, purpose: str, on: Server | None = None) -> "RolesDatabase":
        """A new database with its roles on `on` (default: DATABASE_URL's server)."""
        on = on or server()
        name = f"{on.dbname}_{purpose}_{secrets.token_hex(3)}"
        db = cls(name=name, owner=f"{name}_owner", app=f"{name}_app", server=on)
        with on.admin_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        db.apply_roles()
        return db

    def apply_roles(self) -> None:
        subprocess.run([str(DEPLOY / "postgres" / "apply-roles.sh"), "--owner", self.owner, "--app", self.app],
                       env={**os.environ, "ADMIN_DATABASE_URL": self.server.admin_url(self.name),
                            "AGEPAR_DB_OWNER_PASSWORD": self.owner_password,
                            "AGEPAR_DB_APP_PASSWORD": self.app_password},
                       check=True, capture_output=True, text=True)

    @property
    def owner_url(self) -> str:
        return self.server.url(self.owner, self.owner_password, self.name)

    @property
    def app_url(self) -> str:
        return self.server.url(self.app, self.app_password, self.name)

    def connect(self, role: str) -> psycopg.Connection:
        return psycopg.connect(self.owner_url if role == "owner" else self.app_url, autocommit=True)

    def as_migrator(self, *args: str, var_dir: Path, **extra_env: str) -> subprocess.CompletedProcess:
        """`deploy/as-migrator.sh ARGS` with the owner's URL, as production would run it."""
        return subprocess.run([str(DEPLOY / "as-migrator.sh"), *args], cwd=ROOT, capture_output=True, text=True,
                              env=clean_env(MIGRATE_DATABASE_URL=self.owner_url, VAR_DIR=str(var_dir), **extra_env),
                              timeout=300)

    def as_app(self, *args: str, var_dir: Path) -> subprocess.CompletedProcess:
        """`manage.py ARGS` as the web server and worker run: DATABASE_URL is the app role."""
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True,
                              env=clean_env(DATABASE_URL=self.app_url, VAR_DIR=str(var_dir)), timeout=300)

    def drop(self) -> None:
        with self.server.admin_connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{self.owner}", "{self.app}"')
