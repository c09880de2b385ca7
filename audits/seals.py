"""Sealing the audit trail: the events after the last seal, in id order, hashed into Merkle roots
that chain one seal to the next (docs/audit-seals.md).

Writers of events are never made to wait: `record()` stays one INSERT in its caller's
transaction. The sealer waits instead, so that it never seals past an event that is still to
commit (see `settled_horizon`).
"""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from django.db import connections, router, transaction

from agepar.errors import AppError
from audits.encoding import GENESIS, VERSION, event_bytes, instant, leaf_hash, merkle_root, seal_hash
from audits.models import AuditEvent, AuditSeal
from audits.services import record, seal_lock

TABLE = AuditEvent._meta.db_table
MAX_EVENTS = 10_000
READ_BATCH = 20_000


class SealWaitTimeout(AppError):
    """Transactions that may still commit events below the horizon stayed open too long."""

    status = 503
    default_code = "seal_wait_timeout"


def _events_sql(vendor: str) -> str:
    # `details` as the database's JSON text: its canonical form is made from the parsed value,
    # never from a driver's or a model field's conversion.
    details = "details::text" if vendor == "postgresql" else "details"
    return (f"SELECT id, at, actor_id, actor_label, action, status, kind, target_type, target_id, "  # noqa: S608
            f"session_public_id, ip, user_agent, request_id, {details} FROM {TABLE} "
            "WHERE id > %s AND id <= %s ORDER BY id LIMIT %s")


def event_rows(connection, after: int, through: int, batch: int = READ_BATCH) -> Iterator[tuple]:
    """Events with after < id <= through, in id order, as the database returns them: keyset pages,
    so no server-side cursor is needed (pgBouncer) and memory stays flat."""
    sql = _events_sql(connection.vendor)
    while after < through:
        with connection.cursor() as cursor:
            cursor.execute(sql, [after, through, batch])
            rows = cursor.fetchall()
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1][0]


# Transactions holding a write lock on the audit table or any of its partitions, but ours. A
# prepared (two-phase) transaction keeps its locks with no backend: `pid` is NULL then.
_WRITERS_SQL = """
    SELECT DISTINCT virtualtransaction, pid FROM pg_locks
     WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND granted
       AND pid IS DISTINCT FROM pg_backend_pid()
       AND relation IN (SELECT %s::regclass UNION SELECT relid FROM pg_partition_tree(%s))
"""


def settled_horizon(connection, *, timeout: float) -> int:
    """The highest event id below which no event can appear any more.

    PostgreSQL hands out ids from a sequence when a row is inserted, not when it commits: a
    transaction can hold id 41 uncommitted while 42 is already visible. Sealing up to 42 then
    would turn 41's commit into "an event inserted into a sealed range". So: take the highest
    visible id H, then wait for every transaction that holds a write lock on the audit table at
    that moment to end. A transaction that got an id <= H got it before H was read (ids come in
    order: the sequence has CACHE 1), after locking the table (the lock is taken when the INSERT
    starts, before its defaults are computed), and keeps that lock until it ends: it is among
    those waited for. Once they have ended, every id <= H is committed or gone for good.
    Transactions that start meanwhile are not waited for (their ids are above H), nothing
    blocks the writers, and this does not depend on when a transaction is given an xid.

    SQLite has one writer at a time, and an uncommitted row's id is above every committed one.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {TABLE}")  # noqa: S608
        horizon = cursor.fetchone()[0] or 0
        if connection.vendor != "postgresql":
            return horizon
        cursor.execute(_WRITERS_SQL, [TABLE, TABLE])
        waiting = {vxid for vxid, _ in cursor.fetchall()}
        deadline, pause = time.monotonic() + timeout, 0.005
        while waiting:
            # A transaction's virtual id is never reused while it runs: still listed, still open.
            cursor.execute(_WRITERS_SQL, [TABLE, TABLE])
            still_open = [(vxid, pid) for vxid, pid in cursor.fetchall() if vxid in waiting]
            waiting = {vxid for vxid, _ in still_open}
            if waiting and time.monotonic() >= deadline:
                pids = ", ".join(sorted({str(pid) for _, pid in still_open}))
                raise SealWaitTimeout(f"Transações que gravam eventos de auditoria ficaram abertas mais de "
                                      f"{timeout:g} s (backend pid {pids}); nada foi selado.")
            if waiting:
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
    return horizon


class SealValues(TypedDict):
    """A seal's range and hashes, as hashed (seal_hash), recorded in its event and stored in its row."""

    first_id: int
    last_id: int
    count: int
    last_at: str
    root: str
    prev: str


def seal_details(number: int, values: SealValues, digest: str) -> dict:
    """What the `audit.sealed` event of a seal holds: the seal's values, as written in the trail."""
    return {"seal": number, "version": VERSION, **values, "hash": digest}


@dataclass(frozen=True)
class _Leaves:
    first_id: int
    last_id: int
    last_at: str
    leaves: list[bytes]


def _next_leaves(connection, after: int, horizon: int, max_events: int) -> _Leaves | None:
    """The events of the next seal: at most max_events, all in one calendar month (UTC).

    One month per seal, because retention drops whole months (monthly partitions on
    PostgreSQL, issue 18): a seal then never loses part of its events.
    """
    leaves: list[bytes] = []
    first_id = last_id = 0  # set by the first row; only read when there was one
    month: str | None = None
    last_at = ""
    for row in event_rows(connection, after, horizon, batch=max_events):
        at = instant(row[1])
        if month is None:
            first_id, month = after + 1, at[:7]
        elif at[:7] != month:
            break
        leaves.append(leaf_hash(event_bytes(row)))
        last_id, last_at = row[0], max(last_at, at)
        if len(leaves) == max_events:
            break
    return _Leaves(first_id, last_id, last_at, leaves) if leaves else None


def seal_audits(*, max_events: int = MAX_EVENTS, wait_timeout: float = 60.0,
                on_seal: Callable[[AuditSeal], None] | None = None) -> list[AuditSeal]:
    """Seal every event up to the settled horizon, at most `max_events` per seal.

    Each seal is one transaction: its row and its `audit.sealed` event commit together. Ranges
    tile the ids: a seal starts right after the previous one's last id (the first at id 1), so
    no id, present or not, is ever outside a seal once sealed past.
    """
    if max_events < 1:
        raise ValueError("max_events must be at least 1")
    alias = router.db_for_write(AuditSeal)
    connection = connections[alias]
    horizon = settled_horizon(connection, timeout=wait_timeout)
    made = []
    while True:
        with transaction.atomic(using=alias):
            seal_lock(connection)
            last = AuditSeal.objects.using(alias).order_by("-number").first()
            after, number, prev = (last.last_id, last.number + 1, last.hash) if last else (0, 1, GENESIS)
            batch = _next_leaves(connection, after, horizon, max_events)
            if batch is None:
                break
            values: SealValues = {"first_id": batch.first_id, "last_id": batch.last_id, "count": len(batch.leaves),
                      "last_at": batch.last_at, "root": merkle_root(batch.leaves), "prev": prev}
            digest = seal_hash(number=number, **values)
            event = record("audit.sealed", actor_label="system:seal_audits", kind="audit",
                           target=(AuditSeal._meta.label_lower, number),
                           details=seal_details(number, values, digest))
            seal = AuditSeal.objects.using(alias).create(
                number=number, version=VERSION, hash=digest, event_id=event.pk,
                **{**values, "last_at": datetime.fromisoformat(batch.last_at)})
        made.append(seal)
        if on_seal:
            on_seal(seal)
    return made
