"""Throwaway PostgreSQL clusters of their own on loopback ports: a primary and a streaming replica of it.

Built with the server binaries of the installed PostgreSQL (initdb, pg_ctl, pg_basebackup -R), in a
temporary directory, never touching the cluster the suite runs on. PostgreSQL refuses to run as
root, so as root every command runs as the `postgres` OS user that Debian's package creates.
"""

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.live import free_port

SETTINGS = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{sockets}'
max_connections = 60
shared_buffers = 32MB
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = replica
max_wal_senders = 4
hot_standby = on
"""


def server_bin() -> Path | None:
    """The newest installed PostgreSQL's server binaries (initdb is not on PATH on Debian)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*command: str | Path) -> None:
    subprocess.run([*_as_postgres(), *map(str, command)], check=True, capture_output=True, text=True, timeout=120)


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    def start(self) -> None:
        _run(self.bin / "pg_ctl", "-D", self.data, "-l", self.data.parent / f"{self.data.name}.log", "-w", "-t", "60",
             "-o", f"-p {self.port}", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def execute(self, sql: str, params=None, dbname: str = "postgres"):
        with self.connect(dbname) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else None


class PrimaryAndReplica:
    """`with PrimaryAndReplica() as (primary, replica):` two running clusters, removed on exit."""

    def __enter__(self) -> tuple[Cluster, Cluster]:
        bindir = server_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb) not found")
        self.base = Path(tempfile.mkdtemp(prefix="agepar-replica-"))
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres")
        self.primary = Cluster(bindir, self.base / "primary", free_port())
        self.replica = Cluster(bindir, self.base / "replica", free_port())
        try:
            _run(bindir / "initdb", "-D", self.primary.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                 "--no-sync")
            with open(self.primary.data / "postgresql.conf", "a") as conf:
                conf.write(SETTINGS.format(sockets=self.base))
            self.primary.start()
            # -R: standby.signal + primary_conninfo, i.e. a streaming replica as soon as it starts.
            _run(bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", "postgres",
                 "-D", self.replica.data, "-R", "-X", "stream", "--no-sync")
            self.replica.start()
        except BaseException:
            self.__exit__()
            raise
        return self.primary, self.replica

    def __exit__(self, *exc) -> None:
        for cluster in (self.replica, self.primary):
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()
        shutil.rmtree(self.base, ignore_errors=True)

