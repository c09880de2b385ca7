"""The audit trail by month on PostgreSQL — a partition per month, retention
by dropping whole months, append-only on every partition, and list pages that read only the months
they ask for. SQLite keeps one table (nothing to show there)."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agepar.api import cursor_token
from audits import partitions
from audits.models import AuditEvent
from audits.selectors import audit_event_list
from audits.services import audit_events_prune
from submissions.models import Submission
from tests.submissions.helpers import make_submission

# Partitions are made, moved and dropped by the owner (audits_partitions and prune_audits run as the
# migrator role): the app role may not create tables.
pytestmark = [pytest.mark.django_db, pytest.mark.owner]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite keeps the audit trail in one table")


DAYS = (0, 10, 20)  # the events of each month


def _two_years_of_events() -> tuple[list[AuditEvent], object]:
    """Three events on days 1, 11 and 21 of each of the last 24 months, partitions made for them."""
    this = partitions.month_of(timezone.now())
    events = AuditEvent.objects.bulk_create([
        AuditEvent(action="auth.login", actor_label="anonymous", kind="auth", details={"n": back, "nome": "ação"},
                   at=partitions.add_months(this, -back) + timedelta(days=day, hours=1))
        for back in range(24) for day in DAYS
    ])
    partitions.ensure_months(connection, now=timezone.now())
    return events, this


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608
        return cursor.fetchone()[0]


def test_the_trail_is_partitioned_by_month_and_an_insert_never_fails_for_a_missing_month():
    assert partitions.is_partitioned(connection)
    far = AuditEvent.objects.create(action="auth.login", actor_label="anonymous",
                                    at=timezone.now() + timedelta(days=900))
    assert _count(partitions.DEFAULT) == 1 and AuditEvent.objects.filter(pk=far.pk).exists()


def test_events_of_months_without_a_partition_move_out_of_default_unchanged():
    before = list(AuditEvent.objects.order_by("id").values_list())
    events, this = _two_years_of_events()
    names = {p.name for p in partitions.partitions(connection)}
    assert {partitions.partition_name(partitions.add_months(this, -back)) for back in range(24)} <= names
    assert {partitions.partition_name(partitions.add_months(this, ahead)) for ahead in range(4)} <= names
    assert _count(partitions.DEFAULT) == 0
    # Same ids, same values, each in its month's partition.
    rows = list(AuditEvent.objects.order_by("id").values_list())
    assert len(rows) == len(before) + 72
    assert [row[0] for row in rows[len(before):]] == [event.pk for event in events]
    oldest = partitions.add_months(this, -23)
    assert _count(partitions.partition_name(oldest)) == 3


def test_the_command_creates_the_months_ahead_and_lists_the_partitions(capsys):
    call_command("audits_partitions", "--ahead", "6")
    out = capsys.readouterr().out
    six_ahead = partitions.partition_name(partitions.add_months(partitions.month_of(timezone.now()), 6))
    assert f"created {six_ahead}" in out and partitions.DEFAULT in out


def test_retention_drops_whole_old_months_and_deletes_only_the_rest_of_the_boundary_month():
    events, this = _two_years_of_events()
    boundary = partitions.add_months(this, -12)
    cutoff = boundary + timedelta(days=15)  # between the boundary month's 2nd and 3rd events
    result = audit_events_prune(older_than=timezone.now() - cutoff)

    # Months -23..-13 end before the cut-off: dropped whole, 3 events each; 2 more from the boundary month.
    assert result.months_dropped == 11 and result.deleted == 11 * 3 + 2
    names = {p.name for p in partitions.partitions(connection)}
    dropped = [partitions.partition_name(partitions.add_months(this, -back)) for back in range(13, 24)]
    assert not names & set(dropped)
    assert partitions.partition_name(boundary) in names
    # Each month dropped is one audit.pruned event with its name and count, as batches are.
    month_events = AuditEvent.objects.filter(action="audit.pruned", details__has_key="partition")
    assert sorted(month_events.values_list("details__partition", flat=True)) == sorted(dropped)
    assert set(month_events.values_list("details__deleted", flat=True)) == {3}
    batch_event = AuditEvent.objects.filter(action="audit.pruned", details__has_key="first_id").get()
    assert batch_event.details["deleted"] == 2
    # What is at or after the cut-off is all still there.
    kept = {event.pk for event in events if event.at >= cutoff}
    assert kept == set(AuditEvent.objects.filter(action="auth.login").values_list("id", flat=True))


@pytest.mark.parametrize("statement", ["UPDATE {} SET action = 'auth.logout'", "DELETE FROM {}"])
def test_update_and_delete_are_refused_on_a_partition_as_on_the_table(statement):
    _two_years_of_events()
    AuditEvent.objects.create(action="auth.login", actor_label="anonymous", at=timezone.now() + timedelta(days=900))
    moved = partitions.partition_name(partitions.add_months(partitions.month_of(timezone.now()), -20))
    for table in (moved, partitions.DEFAULT, partitions.TABLE):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement.format(f'"{table}"'))
    assert _count(moved) == 3


def test_a_list_page_with_at_before_reads_only_the_months_before_it():
    _two_years_of_events()
    this = partitions.month_of(timezone.now())
    before = partitions.add_months(this, -12)
    plan = audit_event_list(at_before=before)[:51].explain()
    scanned = {p.name for p in partitions.partitions(connection) if p.name in plan}
    assert partitions.partition_name(partitions.add_months(this, -13)) in scanned
    assert not scanned & {partitions.partition_name(partitions.add_months(this, -back)) for back in range(-3, 13)}


def _scanned(sql: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return {p.name for p in partitions.partitions(connection) if p.name in plan}


def test_an_api_page_plans_only_the_months_near_its_edge(auditor_client):
    events, this = _two_years_of_events()
    AuditEvent.objects.bulk_create([AuditEvent(action="auth.login", actor_label="x", kind="auth")
                                    for _ in range(60)])
    week_ago = partitions.month_of(timezone.now() - partitions.PAGE_WINDOW)
    older = {partitions.partition_name(partitions.add_months(week_ago, -n)) for n in range(1, 25)}
    with CaptureQueriesContext(connection) as captured:
        first = auditor_client.get("/api/audits").json()
    (page,) = [q["sql"] for q in captured.captured_queries if 'FROM "audits_auditevent"' in q["sql"]]
    # The last week fills the first page: no month before it is planned (the months ahead are, for
    # events stamped in the future).
    assert _scanned(page) and not _scanned(page) & older
    assert first["next"]

    # A page from a year back: the week before its edge, then (three events a month do not fill it)
    # everything older, which leaves out every newer month.
    edge = events[12 * len(DAYS)]
    with CaptureQueriesContext(connection) as captured:
        rows = auditor_client.get("/api/audits", {"cursor": cursor_token((edge.at, edge.pk))}).json()["results"]
    near, far = [q["sql"] for q in captured.captured_queries if 'FROM "audits_auditevent"' in q["sql"]]
    month = partitions.month_of(edge.at)
    week = {partitions.partition_name(m) for m in partitions.months(edge.at - partitions.PAGE_WINDOW, edge.at)}
    assert _scanned(near) and _scanned(near) <= week
    assert not _scanned(far) & {partitions.partition_name(partitions.add_months(month, n)) for n in range(1, 16)}
    assert [row["id"] for row in rows] == list(AuditEvent.objects.filter(at__lt=edge.at).order_by("-at", "-id")
                                              .values_list("id", flat=True)[:50])


def test_a_submissions_history_plans_only_the_months_since_it_was_created(auditor_client, owner):
    _two_years_of_events()
    recent, old = make_submission(owner), make_submission(owner)
    year_ago = timezone.now() - timedelta(days=365)
    Submission.objects.filter(pk=old.pk).update(created_at=year_ago)
    for submission, at in ((recent, timezone.now()), (old, year_ago + timedelta(hours=1))):
        AuditEvent.objects.create(action="submission.created", kind="form2json", actor_label="x", at=at,
                                  target_type="submissions.submission", target_id=str(submission.pk))

    def queries(submission) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            assert len(auditor_client.get("/api/audits", {"submission": submission.pk}).json()["results"]) == 1
        return [q["sql"] for q in captured.captured_queries if 'FROM "audits_auditevent"' in q["sql"]]

    # Created this week: one query, over the months from a day before it.
    (page,) = queries(recent)
    floor = partitions.month_of(timezone.now() - timedelta(days=1))
    assert _scanned(page) and not _scanned(page) & {
        partitions.partition_name(partitions.add_months(floor, -n)) for n in range(1, 25)}
    # A year old: the week before now, then from its creation on; never the year before it.
    near, far = queries(old)
    before = {partitions.partition_name(partitions.add_months(partitions.month_of(year_ago - timedelta(days=1)), -n))
              for n in range(1, 12)}
    assert _scanned(far) and not _scanned(far) & before
    assert partitions.partition_name(partitions.month_of(year_ago)) in _scanned(far)
