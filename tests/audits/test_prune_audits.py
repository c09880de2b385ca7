"""manage.py prune_audits: the one sanctioned deletion, in batches, leaving an audit.pruned event."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from audits.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged():
    """Events by age in days; ids are not in age order, as with transactions committing out of order."""
    now = timezone.now()
    ages = [400, 366, 10, 800, 365.5, 364, 0, 500, 370]
    events = AuditEvent.objects.bulk_create(
        AuditEvent(action="auth.login", actor_label=f"age{age}", at=now - timedelta(days=age)) for age in ages)
    return {age: event.pk for age, event in zip(ages, events, strict=True)}


def _prune(*args):
    out = StringIO()
    call_command("prune_audits", *args, stdout=out)
    return out.getvalue()


def test_it_deletes_only_events_older_than_the_cutoff_in_batches(aged):
    output = _prune("--older-than", "365d", "--batch-size", "2")
    remaining = set(AuditEvent.objects.exclude(action="audit.pruned").values_list("pk", flat=True))
    assert remaining == {aged[10], aged[364], aged[0]}
    # Ranges of 2 ids starting at each next old id: [400d, 366d], [800d, 365.5d], [500d, 370d].
    assert output.count("batch ids") == 3
    assert "deleted 6 events" in output


def test_each_batch_leaves_its_audit_pruned_event_newer_than_the_cutoff(aged):
    _prune("--older-than", "365d", "--batch-size", "4")
    events = list(AuditEvent.objects.filter(action="audit.pruned").order_by("id"))
    assert len(events) == 3 and sum(e.details["deleted"] for e in events) == 6
    for event in events:
        assert event.details["older_than_seconds"] == 365 * 86400
        assert event.details["first_id"] <= event.details["last_id"]
        assert event.kind == "audit" and event.actor_label == "system:prune_audits"
        assert event.at > timezone.now() - timedelta(days=365)
    # Running again finds nothing more and still leaves its trace.
    _prune("--older-than", "365d")
    assert AuditEvent.objects.filter(action="audit.pruned").order_by("-id").first().details["deleted"] == 0


def test_a_prune_killed_midway_leaves_no_unrecorded_deletion(aged, record_dies_at):
    from audits import services

    record_dies_at(services, 2)
    with pytest.raises(RuntimeError):
        _prune("--older-than", "365d", "--batch-size", "4")
    # The first batch committed with its event; the second rolled back together with its event.
    [event] = AuditEvent.objects.filter(action="audit.pruned")
    gone = len(aged) - AuditEvent.objects.exclude(action="audit.pruned").count()
    assert gone == event.details["deleted"] > 0


def test_dry_run_counts_and_changes_nothing(aged):
    output = _prune("--older-than", "365d", "--dry-run")
    assert "6 events older than" in output and "nothing changed" in output
    assert AuditEvent.objects.count() == len(aged)


def test_the_database_refuses_deletes_again_after_a_prune(aged):
    _prune("--older-than", "365d")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [aged[0]])
    assert AuditEvent.objects.filter(pk=aged[0]).exists()


@pytest.mark.parametrize("value", ["365", "12h", "abc", "-5d", ""])
def test_it_refuses_a_retention_that_is_not_a_period_of_days(aged, value):
    with pytest.raises(CommandError):
        _prune("--older-than", value)
    assert AuditEvent.objects.count() == len(aged)


def test_batch_size_must_be_positive(aged):
    with pytest.raises(CommandError):
        _prune("--older-than", "365d", "--batch-size", "0")
