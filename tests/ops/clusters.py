"""Throwaway PostgreSQL clusters of their own on loopback ports: a primary and a streaming replica of
it, or one cluster that accepts TCP connections over TLS only.

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
from tests.ops.pg import Server
from tests.ops.tls import CertificateAuthority
from tests.tools import unavailable

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


def require_server_bin() -> Path:
    """The server binaries; skips without them, and fails under CI (.ci/run installs PostgreSQL)."""
    bindir = server_bin()
    if bindir is None:
        unavailable("PostgreSQL server binaries (initdb, pg_basebackup) are missing")
    return bindir


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _run(*command: str | Path) -> None:
    subprocess.run([*_as_postgres(), *map(str, command)], check=True, capture_output=True, text=True, timeout=120)


def _scratch_dir(prefix: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    return base


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    options: str = ""  # libpq parameters of every URL (TLS)

    @classmethod
    def initdb(cls, bindir: Path, data: Path, *, conf: str = "") -> "Cluster":
        """A new cluster in `data` (its parent holds the sockets), with SETTINGS and `conf`; not started."""
        cluster = cls(bindir, data, free_port())
        _run(bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        with open(data / "postgresql.conf", "a") as postgresql_conf:
            postgresql_conf.write(SETTINGS.format(sockets=data.parent) + conf)
        return cluster

    def start(self) -> None:
        _run(self.bin / "pg_ctl", "-D", self.data, "-l", self.data.parent / f"{self.data.name}.log", "-w", "-t", "60",
             "-o", f"-p {self.port}", "start")

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            _run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    @property
    def server(self) -> Server:
        return Server("127.0.0.1", self.port, "postgres", options=self.options)

    def url(self, dbname: str = "postgres") -> str:
        return self.server.admin_url(dbname)

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.url(dbname), autocommit=True)

    def execute(self, sql: str, params=None, dbname: str = "postgres"):
        with self.connect(dbname) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else None


class PrimaryAndReplica:
    """`with PrimaryAndReplica() as (primary, replica):` two running clusters, removed on exit."""

    def __enter__(self) -> tuple[Cluster, Cluster]:
        bindir = require_server_bin()
        self.base = _scratch_dir("agepar-replica-")
        self.primary = self.replica = None
        try:
            self.primary = Cluster.initdb(bindir, self.base / "primary")
            self.replica = Cluster(bindir, self.base / "replica", free_port())
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
            if cluster is not None:
                with contextlib.suppress(subprocess.CalledProcessError):
                    cluster.stop()
        shutil.rmtree(self.base, ignore_errors=True)


# TCP over TLS only (no `host` line): a client that does not negotiate TLS is refused. The superuser
# needs no password (the tests' own cluster); every other role signs in with its password.
TLS_HBA = """
local all all trust
hostssl all postgres 127.0.0.1/32 trust
hostssl all all 127.0.0.1/32 scram-sha-256
"""


@contextlib.contextmanager
def tls_cluster(ca: CertificateAuthority):
    """A running cluster with `ssl = on`, a server certificate from `ca` for localhost and 127.0.0.1,
    and URLs with sslmode=verify-full and `ca` as sslrootcert; removed on exit."""
    bindir = require_server_bin()
    base = _scratch_dir("agepar-tls-")
    cluster = None
    try:
        certificate = ca.issue("postgres")
        for source, name in ((certificate.cert, "server.crt"), (certificate.key, "server.key")):
            shutil.copy(source, base / name)  # the key: owned by and readable to postgres only
            if os.geteuid() == 0:
                shutil.chown(base / name, "postgres")
        conf = f"ssl = on\nssl_cert_file = '{base / 'server.crt'}'\nssl_key_file = '{base / 'server.key'}'\n"
        cluster = Cluster.initdb(bindir, base / "data", conf=conf)
        (cluster.data / "pg_hba.conf").write_text(TLS_HBA)
        cluster.options = f"sslmode=verify-full&sslrootcert={ca.cert}"
        cluster.start()
        yield cluster
    finally:
        if cluster is not None:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop()
        shutil.rmtree(base, ignore_errors=True)

