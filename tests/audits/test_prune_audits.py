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


# --- a sealed trail: pruned, it still verifies ---------------------------------------------------------------

@pytest.fixture
def sealed_by_age():
    """Events 700 days old down to 10, two of them out of age order, two clusters minutes apart; sealed three at a
    time (and by month)."""
    from audits.seals import seal_audits

    now = timezone.now()
    ages = [700, 650, 600, 560, 520, 480, 470, 450, 450.01, 440, 440.01, 420, 400, 380, 370, 364, 372, 300, 200,
            100, 50, 30, 10]
    events = AuditEvent.objects.bulk_create(
        AuditEvent(action="auth.login", actor_label=f"age{age}", at=now - timedelta(days=age)) for age in ages)
    seal_audits(max_events=3)
    return {age: event.pk for age, event in zip(ages, events, strict=True)}


def _verify() -> str:
    out = StringIO()
    call_command("verify_audits", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_pruning_a_sealed_trail_removes_whole_seals_and_it_still_verifies(sealed_by_age):
    from audits.models import AuditSeal

    _prune("--older-than", "365d")
    cutoff = timezone.now() - timedelta(days=365)
    seals = list(AuditSeal.objects.order_by("number"))
    left = {seal.number: AuditEvent.objects.filter(id__range=(seal.first_id, seal.last_id)).count() for seal in seals}
    # Every seal is whole or gone: gone exactly up to the first seal holding an event younger than the cut-off.
    straddling = next(seal for seal in seals if seal.last_at >= cutoff)
    assert all(left[s.number] == (s.count if s.number >= straddling.number else 0) for s in seals)
    assert any(left[s.number] == 0 for s in seals)
    # The straddling seal keeps its old events until all of it is older (372 days, after the 364-day one).
    assert AuditEvent.objects.filter(pk=sealed_by_age[372]).exists()
    assert not AuditEvent.objects.filter(pk=sealed_by_age[400]).exists()
    assert AuditSeal.objects.count() == len(seals)  # the seals stay
    pruned = sum(1 for s in seals if left[s.number] == 0)
    assert f"{len(seals)} seals, {len(seals) - pruned} verified" in _verify()
    assert f"{pruned} pruned" in _verify()
    # And the trail goes on: the audit.pruned events are sealed next, and it all still verifies.
    from audits.seals import seal_audits

    seal_audits()
    assert "audit trail intact" in _verify()


def test_events_not_sealed_yet_are_kept_until_they_are(sealed_by_age):
    late = AuditEvent.objects.create(action="auth.login", actor_label="late",
                                     at=timezone.now() - timedelta(days=800))
    _prune("--older-than", "365d")
    assert AuditEvent.objects.filter(pk=late.pk).exists()
    assert "audit trail intact" in _verify()


def _delete_events(ids) -> None:
    from tests.audits.trails import as_owner

    with as_owner() as cursor:
        for pk in ids:
            cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [pk])


def test_events_removed_outside_retention_are_still_caught_after_a_prune(sealed_by_age):
    from audits.models import AuditSeal

    _prune("--older-than", "365d")
    # A whole seal of young events gone, as if pruned, but younger than every recorded cut-off.
    young = AuditSeal.objects.filter(first_id__lte=sealed_by_age[100], last_id__gte=sealed_by_age[100]).get()
    _delete_events(range(young.first_id, young.last_id + 1))
    with pytest.raises(CommandError, match=f"events {young.first_id}–{young.last_id}: seal {young.number}: all "
                                           f"{young.count} events are missing and no audit.pruned cut-off covers"):
        _verify()


def test_part_of_an_old_seal_removed_is_caught(sealed_by_age):
    from audits.models import AuditSeal

    # Old enough for retention, but retention removes whole seals, never one event of them.
    seal = AuditSeal.objects.filter(count__gte=2, last_at__lt=timezone.now() - timedelta(days=366)).earliest("number")
    _prune("--older-than", "720d")  # records a cut-off that covers nothing sealed
    _delete_events([seal.first_id if AuditEvent.objects.filter(pk=seal.first_id).exists() else seal.last_id])
    with pytest.raises(CommandError, match=f"events {seal.first_id}–{seal.last_id}: seal {seal.number}: "
                                           "1 event\\(s\\) missing"):
        _verify()
