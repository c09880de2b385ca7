"""A read replica for the lag-tolerant reads, and the primary for everything else (docs/scaling.md).

Only reads that name `lag_tolerant()` go to the replica: the API lists of audits, submissions
and shares, the audit CSV export and the big admin changelists (`BigTableAdmin` with
`lag_tolerant_changelist`). Details, anything followed by a write, sessions and authentication
never ask, so the router sends them to the primary, as it does every write and every migration.

`lag_tolerant()` answers "replica" only while the replica answers and its replay lag is at most
REPLICA_MAX_LAG seconds; it asks the replica at most once per REPLICA_CHECK_INTERVAL seconds per
process (one thread asks, the others use the last answer), so a replica that is down or behind
costs one failed probe per interval, not one per request.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

PRIMARY = "default"
REPLICA = "replica"

# Seconds the replica's replay is behind: 0 when it has replayed all it received (an idle primary
# sends nothing, so the age of the last replayed transaction says nothing then); 0 on a primary,
# so REPLICA_DATABASE_URL may point at the primary itself.
LAG_SQL = """
    SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 'Infinity')
           END::float8
"""


class PrimaryReplicaRouter:
    """Every read and write on the primary unless the queryset names the replica (`.using(lag_tolerant())`)."""

    def db_for_read(self, model, **hints):
        return PRIMARY

    def db_for_write(self, model, **hints):
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows on both

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == PRIMARY  # the replica follows the primary's WAL


@dataclass(frozen=True)
class ReplicaStatus:
    usable: bool
    lag: float | None = None
    error: str = ""

    def as_check(self) -> dict:
        """The replica's entry in /api/health."""
        check: dict = {"ok": self.usable, "serving": "replica" if self.usable else "primary"}
        if self.lag is not None:
            check["lag_seconds"] = round(self.lag, 3)
        if self.error:
            check["error"] = self.error
        return check


_lock = threading.Lock()
_last: tuple[float, ReplicaStatus] | None = None


def configured() -> bool:
    return REPLICA in settings.DATABASES


def probe() -> ReplicaStatus:
    """Ask the replica now: does it answer, and how far behind is it?"""
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = cursor.fetchone()[0]
    except DatabaseError as exc:
        connections[REPLICA].close()  # a connection to a dead server is of no use to the next probe
        return ReplicaStatus(False, error=f"unreachable ({type(exc).__name__})")
    if lag > settings.REPLICA_MAX_LAG:
        return ReplicaStatus(False, lag, error=f"lag above REPLICA_MAX_LAG ({settings.REPLICA_MAX_LAG} s)")
    return ReplicaStatus(True, lag)


def status(*, fresh: bool = False) -> ReplicaStatus:
    """The replica's last known status, asked again once REPLICA_CHECK_INTERVAL has passed (or `fresh`)."""
    global _last
    now = time.monotonic()
    last = _last
    if not fresh and last is not None and now - last[0] < settings.REPLICA_CHECK_INTERVAL:
        return last[1]
    # One thread asks; the others keep the last answer meanwhile (or wait for the very first one).
    if last is None or fresh:
        _lock.acquire()
    elif not _lock.acquire(blocking=False):
        return last[1]
    try:
        current = probe()
        _last = (time.monotonic(), current)
        return current
    finally:
        _lock.release()


def lag_tolerant() -> str:
    """The database alias for a read that may be REPLICA_MAX_LAG seconds old."""
    if configured() and status().usable:
        return REPLICA
    return PRIMARY
