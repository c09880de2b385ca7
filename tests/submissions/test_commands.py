"""manage.py requeue_stale and prune_submissions."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audits.models import AuditEvent
from submissions.models import Submission
from tests.submissions.helpers import make_submission


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_requeue_stale_command(owner, django_capture_on_commit_callbacks):
    stale = make_submission(owner, status="running", lease_expires_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert "requeued=1 failed=0" in run("requeue_stale")
    stale.refresh_from_db()
    assert stale.status == "done" and stale.attempts == 2  # requeued, then run again by the (immediate) backend


def test_requeue_stale_rejects_negative_interval(db):
    with pytest.raises(CommandError):
        run("requeue_stale", "--every", "-1")


@pytest.fixture
def aged(owner):
    def make(status, days):
        row = make_submission(owner, status=status)
        Submission.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(days=days))
        return row.pk
    return make


def test_prune_deletes_only_old_finished_rows_in_batches_each_with_its_audit_event(aged):
    old_done, old_error = aged("done", 200), aged("error", 365)
    old_queued, old_running = aged("queued", 200), aged("running", 200)
    recent_done = aged("done", 10)
    extra = [aged("done", 190) for _ in range(4)]
    assert "deleted 6 submission(s)" in run("prune_submissions", "--older-than", "180d", "--batch-size", "2")
    remaining = set(Submission.objects.values_list("pk", flat=True))
    assert remaining == {old_queued, old_running, recent_done}
    assert not {old_done, old_error, *extra} & remaining
    events = AuditEvent.objects.filter(action="submission.pruned").order_by("id")
    assert [e.details["deleted"] for e in events] == [2, 2, 2]
    assert {e.actor_label for e in events} == {"system"}


def test_a_prune_that_fails_midway_keeps_every_committed_deletion_recorded(aged, record_dies_at):
    from submissions import services

    for _ in range(4):
        aged("done", 200)
    record_dies_at(services, 2)
    with pytest.raises(RuntimeError):
        services.submissions_prune(before=timezone.now() - timedelta(days=180), batch_size=2)
    # The first batch committed with its event; the second rolled back with its failed event.
    assert Submission.objects.count() == 2
    [event] = AuditEvent.objects.filter(action="submission.pruned")
    assert event.details["deleted"] == 2


def test_prune_dry_run_changes_nothing(aged):
    aged("done", 200)
    assert "would delete 1" in run("prune_submissions", "--older-than", "180d", "--dry-run")
    assert Submission.objects.count() == 1
    assert not AuditEvent.objects.filter(action="submission.pruned").exists()


@pytest.mark.parametrize("value", ["abc", "0d", "-5d", "10x"])
def test_prune_rejects_bad_ages(db, value):
    with pytest.raises(CommandError):
        run("prune_submissions", "--older-than", value)


def test_prune_requires_older_than(db):
    with pytest.raises(CommandError):
        run("prune_submissions")
