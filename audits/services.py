"""The one way to write the audit trail."""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, models, transaction
from django.db.models import Max, Min
from django.http import HttpRequest
from django.utils import timezone

from agepar.request_info import client_ip, user_agent
from audits import partitions
from audits.gates import prune_gate
from audits.models import AuditEvent
from audits.selectors import prunable_through

MAX_ID = 2**63 - 1
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")

# Keys whose values must never be stored, however a caller builds `details`.
_SECRET_KEYS = ("password", "senha", "token", "secret", "session_key", "sessionid", "csrf")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if any(s in str(k).lower() for s in _SECRET_KEYS) else _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def actor_label_for(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return user.email or user.cpf or f"user:{user.pk}"


def _target(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    target_type, target_id = target
    return str(target_type), str(target_id)


def record(
    action: str,
    *,
    status: str = AuditEvent.Status.SUCCESS,
    actor=None,
    actor_label: str | None = None,
    request: HttpRequest | None = None,
    kind: str | None = "",
    target=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event: a single INSERT, inside the caller's transaction.

    Call it inside the `transaction.atomic()` block of the change it records, so that both
    commit or roll back together. `actor` defaults to the request's user; `target` is a
    model instance or a `(type, id)` pair; secrets in `details` are replaced by "[redacted]".
    Action names are listed in audits/actions.py.
    """
    if not _ACTION.match(action):
        raise ValueError(f"audit action {action!r} is not a dotted lower-case name like 'submission.created'")
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if getattr(user, "is_authenticated", False) else None
    target_type, target_id = _target(target)
    session = getattr(request, "session", None) if request is not None else None
    # Round-trip through the encoder so dates, UUIDs and Decimals are stored as JSON strings.
    cleaned = json.loads(DjangoJSONEncoder().encode(_scrub(details or {})))
    return AuditEvent.objects.create(
        action=action,
        status=status,
        actor=actor,
        actor_label=(actor_label or actor_label_for(actor))[:254],
        kind=kind or "",
        target_type=target_type,
        target_id=target_id,
        # The session engine exposes its public id; the session key itself is never recorded.
        session_public_id=getattr(session, "public_id", None),
        ip=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        request_id=getattr(request, "request_id", "") if request is not None else "",
        details=cleaned,
    )


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    matched: int
    deleted: int
    batches: int
    event: AuditEvent | None
    months_dropped: int = 0


# pg_advisory_xact_lock key of seal_lock(); any constant no other code uses.
SEAL_LOCK_KEY = 0x5EA1_A0D1


def seal_lock(connection) -> None:
    """Serialise sealing with sealing and with pruning, until the current transaction ends.

    Two seal runs must not both extend the chain, and a prune must not delete events that a seal
    being computed is reading. On SQLite every write transaction already holds the database's one
    write lock from its first statement (IMMEDIATE); writers of events never take this lock.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("the seal lock is taken inside a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def audit_events_prune(
    *,
    older_than: timedelta,
    batch_size: int = 5000,
    dry_run: bool = False,
    on_batch: Callable[[int, int, int, int], None] | None = None,
    on_month: Callable[[str, int, float], None] | None = None,
) -> PruneResult:
    """Delete events older than `older_than`: the only sanctioned deletion of the audit trail.

    On a partitioned trail (PostgreSQL, audits/partitions.py) every month entirely older than the
    cut-off goes first, detached and dropped whole, each in its own transaction with its own
    `audit.pruned` event (partition, month, count). What is left, the older part of the boundary
    month, is deleted by id ranges of `batch_size`, one short transaction per batch (locks stay
    short and an interrupted run keeps what it did). Each batch commits together with its own
    `audit.pruned` event (cut-off, id range, count), so no deletion is ever unrecorded; a run
    that finds nothing still leaves one event saying so. `on_batch(first_id, last_id, deleted,
    total_deleted)` reports progress; `on_month(partition, deleted, seconds)` each month dropped.

    Once the trail is sealed, only whole seals' events go (`prunable_through`), so that every
    seal either verifies in full or has no event left; events not sealed yet wait for their seal,
    and a month holding any of them is not dropped (seals never span two months).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = timezone.now() - older_than
    connection = connections[AuditEvent.objects.db]
    old = AuditEvent.objects.filter(at__lt=cutoff)
    through = prunable_through(cutoff, using=connection.alias)
    if through is not None:
        old = old.filter(id__lte=through)
    matched = old.count()
    if dry_run:
        return PruneResult(cutoff, matched, 0, 0, None)
    deleted = batches = months_dropped = 0
    event = None

    def pruned(**details):
        # Newer than the cut-off, so a later batch of this run never deletes it.
        return record("audit.pruned", actor_label="system:prune_audits", kind="audit",
                      details={"cutoff": cutoff, "older_than_seconds": int(older_than.total_seconds()), **details})

    if partitions.is_partitioned(connection):
        for partition in partitions.partitions(connection):
            if partition.month is None or partitions.add_months(partition.month, 1) > cutoff:
                continue
            started = time.perf_counter()
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                # Detaching waits for every query on the trail to end and holds new ones back
                # meanwhile: give up rather than stall the portal behind a long export.
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                seal_lock(connection)  # no seal being made meanwhile reads the month dropped
                count = partitions.drop_month(connection, partition,
                                              through=prunable_through(cutoff, using=connection.alias))
                if count is not None:
                    event = pruned(partition=partition.name, month=f"{partition.month:%Y-%m}", deleted=count)
            if count is None:
                continue  # holds events not sealed yet: they wait, as in the batches below
            deleted += count
            months_dropped += 1
            if on_month:
                on_month(partition.name, count, time.perf_counter() - started)

    bounds = old.aggregate(low=Min("id"), high=Max("id"))
    low, high = bounds["low"], bounds["high"]
    db_cutoff = connection.ops.adapt_datetimefield_value(cutoff)

    while low is not None and low <= high:
        upper = low + batch_size
        with transaction.atomic(using=connection.alias), prune_gate(connection), connection.cursor() as cursor:
            # Under the seal lock, and with the bound read under it: no seal being made meanwhile
            # reads what this batch deletes.
            seal_lock(connection)
            through = prunable_through(cutoff, using=connection.alias)
            cursor.execute(
                f"DELETE FROM {AuditEvent._meta.db_table} WHERE id >= %s AND id < %s AND at < %s AND id <= %s",  # noqa: S608 (table name is ours)
                [low, upper, db_cutoff, MAX_ID if through is None else through],
            )
            count = cursor.rowcount
            event = pruned(first_id=low, last_id=upper - 1, deleted=count)
        deleted += count
        batches += 1
        if on_batch:
            on_batch(low, upper - 1, count, deleted)
        # Skip id gaps left by earlier prunes instead of walking them batch by batch.
        low = old.filter(id__gte=upper, id__lte=high).aggregate(low=Min("id"))["low"]
    if event is None:
        with transaction.atomic():
            event = pruned(deleted=0)
    return PruneResult(cutoff, matched, deleted, batches, event, months_dropped)
