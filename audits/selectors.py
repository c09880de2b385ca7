"""Reads of the audit trail: filters applied in SQL, rows as plain values, newest first."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.apps import apps
from django.db.models import Max, QuerySet

from agepar.api import keyset_rows
from agepar.routers import lag_tolerant
from audits.models import AuditEvent, AuditSeal

SUBMISSION_TARGET = "submissions.submission"
# An event about a submission is recorded in a transaction that follows its insert, so none is older
# than the submission; the margin is for the clocks: `created_at` is the app's, `at` the database's.
CLOCK_MARGIN = timedelta(days=1)
MAX_BIGINT = 2**63 - 1
# Newest first by time, `id` breaking ties: `at` and ids do not grow strictly together, so a time
# bound on an id ordering would walk every newer event. Every index of the trail ends (at, id).
NEWEST_FIRST = ("-at", "-id")

# API field -> column, in the order of the CSV export.
COLUMNS = (
    "id", "at", "action", "status", "kind", "actor_id", "actor_label", "target_type", "target_id",
    "session_public_id", "ip", "user_agent", "details",
)


def audit_events_filtered(
    *,
    action: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    actor: int | None = None,
    submission: str | None = None,
    at_after: datetime | None = None,
    at_before: datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Events matching every given filter (AND); `at_after` is inclusive, `at_before` exclusive."""
    queryset = AuditEvent.objects.all()
    if action:
        queryset = queryset.filter(action=action)
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if actor is not None:
        queryset = queryset.filter(actor_id=actor)
    if submission:
        queryset = queryset.filter(target_id=submission, target_type=SUBMISSION_TARGET)
    if at_after is not None:
        queryset = queryset.filter(at__gte=at_after)
    if at_before is not None:
        queryset = queryset.filter(at__lt=at_before)
    return queryset


def with_submission_floor(filters: dict) -> dict:
    """`filters` with `at_after` raised to the earliest an event about the filtered submission can
    carry: the same rows, and on the monthly partitions a bound that leaves out the months before."""
    submission = filters.get("submission")
    if not (submission and submission.isascii() and submission.isdecimal() and int(submission) <= MAX_BIGINT):
        return filters
    created = (apps.get_model(SUBMISSION_TARGET)._default_manager.using(lag_tolerant())
               .filter(pk=int(submission)).values_list("created_at", flat=True).first())
    if created is None:  # pruned, or never existed: its events may be anywhere
        return filters
    floor = created - CLOCK_MARGIN
    after = filters.get("at_after")
    return {**filters, "at_after": max(after, floor) if after else floor}


def audit_event_list(**filters) -> QuerySet:
    """Rows for the API list, as dicts, from the read replica if usable (agepar/routers.py); the view
    paginates them with a cursor on NEWEST_FIRST."""
    return audit_events_filtered(**filters).using(lag_tolerant()).order_by(*NEWEST_FIRST).values(*COLUMNS)


def audit_event_export_rows(*, chunk_size: int = 2000, **filters) -> Iterator[tuple]:
    """Tuples in COLUMNS order, `chunk_size` rows per query (keyset batches: no server-side cursor)."""
    return export_rows(audit_events_filtered(**filters).using(lag_tolerant()), chunk_size=chunk_size)


def export_rows(events: QuerySet[AuditEvent], *, chunk_size: int = 2000) -> Iterator[tuple]:
    """`events` (any filter: the API's, the admin changelist's) newest first, as export tuples."""
    rows = events.order_by(*NEWEST_FIRST).values_list(*COLUMNS)
    return keyset_rows(rows, size=chunk_size, position=lambda row: (row[1], row[0]))  # (at, id)


def prunable_through(cutoff: datetime, *, using: str | None = None) -> int | None:
    """The highest event id retention may delete at `cutoff`; None while nothing is sealed.

    A sealed trail loses whole seals only: those before the first seal holding an event at or
    after the cut-off (the seal straddling it goes at a later run, once all of it is older).
    Events after the last seal are kept until they are sealed.
    """
    seals = AuditSeal.objects.using(using)
    straddling = seals.filter(last_at__gte=cutoff).order_by("number").values_list("first_id", flat=True).first()
    if straddling is not None:
        return straddling - 1
    return seals.aggregate(last=Max("last_id"))["last"]


def latest_seal() -> AuditSeal | None:
    return AuditSeal.objects.order_by("-number").first()
