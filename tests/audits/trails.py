"""A small audit trail to seal and tamper with, and the database owner's way past the append-only triggers."""

import importlib
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.core.management.color import no_style
from django.db import connection, transaction

from audits.models import AuditEvent

# Ids 1..31 but 14 (the id a rolled-back transaction burnt), three seconds apart from 23:59:03 on
# 31 January: ids 20 and up are in February. Sealed five at a time, the seals are:
SEALS = [(1, 5), (6, 10), (11, 16), (17, 19), (20, 24), (25, 29), (30, 31)]
GAP = 14
START = datetime(2026, 1, 31, 23, 59, 0, 123456, tzinfo=UTC)

_APPEND_ONLY = importlib.import_module("audits.migrations.0003_append_only")
_SEALS_APPEND_ONLY = importlib.import_module("audits.migrations.0005_auditseal")


def event(event_id: int, *, at: datetime | None = None, **fields) -> AuditEvent:
    """An event with every column used: NULLs, empty strings, IPv4 and IPv6, nested details."""
    values = {
        "id": event_id, "at": at or START + timedelta(seconds=3 * event_id),
        "actor_id": event_id % 4 or None, "actor_label": f"pessoa{event_id}@agepar.go.gov.br",
        "action": "submission.created", "status": "success" if event_id % 5 else "failure", "kind": "form2json",
        "target_type": "submissions.submission" if event_id % 2 else "", "target_id": str(event_id * 7),
        "session_public_id": uuid.UUID(int=event_id) if event_id % 3 else None,
        "ip": (f"203.0.113.{event_id}", f"2001:db8::{event_id:x}", None)[event_id % 3],
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140", "request_id": f"req-{event_id}",
        "details": {"n": event_id, "ok": True, "peso": 0.5, "nota": "ação ✓", "itens": [{"q": 2}], "vazio": None},
    }
    return AuditEvent(**{**values, **fields})


def add_events(events: list[AuditEvent]) -> None:
    """Insert events with their own ids, then move the id sequence past them (PostgreSQL)."""
    AuditEvent.objects.bulk_create(events)
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [AuditEvent]):
            cursor.execute(sql)


def build_trail() -> None:
    add_events([event(i) for i in range(1, 32) if i != GAP])


@contextmanager
def as_owner():
    """A cursor that writes past the append-only triggers of the trail and of its seals, as the
    database owner can: on PostgreSQL it disables them (ALTER TABLE ... DISABLE TRIGGER, which
    reaches every partition), on SQLite it drops them; both come back afterwards."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ("audits_auditevent", "audits_auditseal"):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            yield cursor
            for table in ("audits_auditevent", "audits_auditseal"):
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for name in ("audits_auditevent_no_update", "audits_auditevent_no_delete",
                         "audits_auditseal_no_update", "audits_auditseal_no_delete"):
                cursor.execute(f"DROP TRIGGER {name}")
            yield cursor
            for sql in [*_APPEND_ONLY.SQLITE_FORWARD[1:], *_SEALS_APPEND_ONLY.SQLITE_FORWARD]:
                cursor.execute(sql)


def raw_value(column: str, event_id: int):
    """A column as the database returns it, without the model field's conversion."""
    text = "::text" if column == "details" and connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}{text} FROM audits_auditevent WHERE id = %s", [event_id])  # noqa: S608
        return cursor.fetchone()[0]
