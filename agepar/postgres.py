"""Two costs of Django's PostgreSQL connections, removed where they buy nothing.

1. The timestamptz loader. Django registers a loader of its own on every connection so that
datetimes come back in the connection's time zone (`SpecificTzLoader`): a subclass of psycopg's
pure-Python loader, which parses each value in Python. A list page reads ~200 timestamps, and that parsing was ~0.75 ms
of CPU per request (docs/BENCHMARKS.md). When the connection's time zone is UTC (USE_TZ and no
DATABASES TIME_ZONE: our settings), psycopg's C loader returns exactly the same values
(tzinfo `datetime.timezone.utc`), so the connection gets a loader that hands each value to it.

2. The pool's health check. With CONN_HEALTH_CHECKS, Django's pool runs an empty query on every
checkout, i.e. on every request: one more round trip to the server per request (the floor of
docs/BENCHMARKS.md makes one in all). `check_connection` asks the socket first: a connection
idle in the pool has nothing to read unless the server closed it (a restart or a crash sends
EOF, and often a FATAL message), so only then is the round trip worth making. Django gives the
pool no way to choose its check (it passes `check=` itself), so the pool's attribute is swapped
once; should psycopg_pool rename it, the pool keeps its own check (slower, still correct) and
tests/agepar/test_postgres.py fails.
"""

import datetime as dt
import select

from psycopg import adapters
from psycopg.adapt import Loader
from psycopg.pq import ConnStatus, Format
from psycopg_pool import ConnectionPool

_OID = adapters.types["timestamptz"].oid
_FAST = adapters.get_loader(_OID, Format.TEXT)  # the C class when psycopg's binary package is installed


class UtcTimestamptzLoader(Loader):
    # Django's create_cursor() compares this with connection.timezone and re-registers its own
    # loader on the cursor when they differ.
    timezone = dt.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        # The C loader reads the connection's TimeZone when it is created: UTC, set by Django.
        self._fast = _FAST(oid, context)
        self.load = self._fast.load  # psycopg then calls the C method directly: no Python frame per value

    def load(self, data):
        return self._fast.load(data)


def tune_connection(sender, connection, **kwargs):
    """connection_created receiver for PostgreSQL connections (each checkout from the pool)."""
    if connection.vendor != "postgresql":
        return
    if connection.timezone is dt.UTC:
        connection.connection.adapters.register_loader(_OID, UtcTimestamptzLoader)
    pool = connection.pool
    if pool is not None and getattr(pool, "_check", None) is ConnectionPool.check_connection:
        pool._check = check_connection


def _server_spoke(conn) -> bool:
    """True if the idle connection's socket has something to read, an error or a hang-up."""
    poller = select.poll()  # poll, not select: select() refuses descriptors above 1023
    poller.register(conn.pgconn.socket, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def check_connection(conn) -> None:
    """The pool's checkout check (installed by tune_connection): raise if the connection is unusable."""
    if conn.closed or conn.pgconn.status != ConnStatus.OK:
        raise ConnectionError("connection closed")
    try:
        quiet = not _server_spoke(conn)
    except (OSError, ValueError):
        quiet = False  # cannot tell: ask the server
    if not quiet:
        ConnectionPool.check_connection(conn)
