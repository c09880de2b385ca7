"""The state machine in submissions.services: each transition is conditional and audited (must-show 6, 5)."""

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import OperationalError
from django.utils import timezone

from audits.models import AuditEvent
from submissions import automations, services, tasks
from submissions.models import Submission
from tests.submissions.helpers import make_submission


def actions_for(submission):
    return list(AuditEvent.objects.filter(target_id=str(submission.pk)).order_by("id").values_list("action", flat=True))


def test_claim_moves_queued_to_running_with_a_lease(owner, settings):
    settings.SUBMISSIONS_LEASE_SECONDS = 60
    submission = make_submission(owner)
    claimed = services.submission_claim(submission_id=submission.pk)
    assert claimed.status == "running" and claimed.attempts == 1
    assert timezone.now() + timedelta(seconds=50) < claimed.lease_expires_at <= timezone.now() + timedelta(seconds=60)
    assert actions_for(submission) == ["submission.started"]


@pytest.mark.parametrize("status", ["running", "done", "error"])
def test_claim_refuses_anything_but_queued(owner, status):
    submission = make_submission(owner, status=status)
    assert services.submission_claim(submission_id=submission.pk) is None
    assert Submission.objects.get(pk=submission.pk).status == status
    assert actions_for(submission) == []


def test_second_claim_of_the_same_row_loses(owner):
    submission = make_submission(owner)
    assert services.submission_claim(submission_id=submission.pk) is not None
    assert services.submission_claim(submission_id=submission.pk) is None
    assert actions_for(submission) == ["submission.started"]


def test_finish_and_fail_need_a_running_row_of_the_same_attempt(owner):
    submission = make_submission(owner)
    claimed = services.submission_claim(submission_id=submission.pk)
    stale_view = Submission.objects.get(pk=submission.pk)
    stale_view.attempts = 0  # as a worker from an earlier, requeued attempt would hold it
    with pytest.raises(services.InvalidTransition):
        services.submission_finish(submission=stale_view, result={"x": 1})
    services.submission_finish(submission=claimed, result={"x": 1})
    with pytest.raises(services.InvalidTransition):
        services.submission_fail(submission=claimed, error="tarde demais")
    row = Submission.objects.get(pk=submission.pk)
    assert (row.status, row.result, row.lease_expires_at) == ("done", {"x": 1}, None)
    assert actions_for(submission) == ["submission.started", "submission.completed"]


def test_fail_records_the_error(owner):
    claimed = services.submission_claim(submission_id=make_submission(owner).pk)
    services.submission_fail(submission=claimed, error="deu errado")
    row = Submission.objects.get(pk=claimed.pk)
    assert (row.status, row.error) == ("error", "deu errado")
    event = AuditEvent.objects.get(action="submission.failed")
    assert event.status == "failure" and event.details["error"] == "deu errado"


def test_retry_only_from_error(owner, staff, django_capture_on_commit_callbacks):
    for status in ("queued", "running", "done"):
        with pytest.raises(services.InvalidTransition):
            services.submission_retry(submission=make_submission(owner, status=status), actor=owner)
    failed = make_submission(owner, status="error")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        retried = services.submission_retry(submission=failed, actor=staff)
    assert (retried.status, retried.error, retried.result) == ("queued", "", None)
    assert len(callbacks) == 1  # enqueued again on commit
    event = AuditEvent.objects.get(action="submission.retried")
    assert event.actor_id == staff.pk


def test_mark_error_only_for_stuck_rows(owner, staff):
    for status in ("done", "error"):
        with pytest.raises(services.InvalidTransition):
            services.submission_mark_error(submission=make_submission(owner, status=status), actor=staff, reason="x")
    stuck = make_submission(owner, status="running", lease_expires_at=timezone.now() + timedelta(hours=1))
    services.submission_mark_error(submission=stuck, actor=staff, reason="presa")
    assert Submission.objects.get(pk=stuck.pk).status == "error"
    assert AuditEvent.objects.get(action="submission.failed", target_id=str(stuck.pk)).details["by_staff"] is True


def test_extend_lease_only_while_the_run_is_ours(owner, settings):
    settings.SUBMISSIONS_LEASE_SECONDS = 600
    claimed = services.submission_claim(submission_id=make_submission(owner).pk)
    Submission.objects.filter(pk=claimed.pk).update(lease_expires_at=timezone.now())
    assert services.submission_extend_lease(submission=claimed)
    assert Submission.objects.get(pk=claimed.pk).lease_expires_at > timezone.now() + timedelta(seconds=500)
    claimed.attempts += 1  # someone else's claim
    assert not services.submission_extend_lease(submission=claimed)


def test_requeue_stale_requeues_expired_leases_and_fails_exhausted_ones(owner, settings,
                                                                      django_capture_on_commit_callbacks):
    settings.SUBMISSIONS_MAX_ATTEMPTS = 3
    past, future = timezone.now() - timedelta(seconds=5), timezone.now() + timedelta(hours=1)
    expired = make_submission(owner, status="running", attempts=1, lease_expires_at=past)
    exhausted = make_submission(owner, status="running", attempts=3, lease_expires_at=past)
    alive = make_submission(owner, status="running", attempts=1, lease_expires_at=future)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        counts = services.submissions_requeue_stale()
    assert counts == {"requeued": 1, "failed": 1}
    assert len(callbacks) == 1
    assert Submission.objects.get(pk=expired.pk).status == "queued"
    assert Submission.objects.get(pk=exhausted.pk).status == "error"
    assert Submission.objects.get(pk=alive.pk).status == "running"
    assert actions_for(expired) == ["submission.requeued"]
    assert actions_for(exhausted) == ["submission.failed"]


def test_a_worker_that_lost_its_lease_cannot_overwrite_the_new_run(owner):
    submission = make_submission(owner)
    first = services.submission_claim(submission_id=submission.pk)
    Submission.objects.filter(pk=submission.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    services.submissions_requeue_stale()
    second = services.submission_claim(submission_id=submission.pk)
    assert second.attempts == 2
    assert tasks._settle(services.submission_finish, first, result={"old": True}, outcome="done") == "lease_lost"
    services.submission_finish(submission=second, result={"new": True})
    assert Submission.objects.get(pk=submission.pk).result == {"new": True}


def test_task_records_an_automation_crash_as_error_without_leaking_internals(owner, monkeypatch):
    from submissions.automations import form2json

    def explode(payload, submission):
        raise RuntimeError("segredo interno: /srv/x")

    monkeypatch.setattr(form2json, "run", explode)
    submission = make_submission(owner)
    assert tasks.run_submission.call(submission.pk) == "error"
    row = Submission.objects.get(pk=submission.pk)
    assert row.status == "error" and row.error == tasks.GENERIC_ERROR
    assert actions_for(submission) == ["submission.started", "submission.failed"]


def test_task_shows_an_automation_error_message(owner, monkeypatch):
    from submissions.automations import AutomationError, form2json

    def refuse(payload, submission):
        raise AutomationError("Departamento inexistente.")

    monkeypatch.setattr(form2json, "run", refuse)
    submission = make_submission(owner)
    tasks.run_submission.call(submission.pk)
    assert Submission.objects.get(pk=submission.pk).error == "Departamento inexistente."


def test_task_for_an_already_claimed_row_does_nothing(owner):
    submission = make_submission(owner, status="running")
    assert tasks.run_submission.call(submission.pk) == "skipped"
    assert actions_for(submission) == []


def test_status_check_constraint(owner):
    from django.db import IntegrityError, transaction

    submission = make_submission(owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        Submission.objects.filter(pk=submission.pk).update(status="deleted")


def test_the_lease_renewals_survive_a_passing_failure(owner, settings, monkeypatch):
    # One failed renewal (a locked SQLite file, a dropped connection) must not end the renewals:
    # the lease would run out mid-run and another worker would start the same submission.
    settings.SUBMISSIONS_LEASE_SECONDS = 0.6
    calls = []

    def flaky_extend(*, submission):
        calls.append(submission.pk)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return True

    monkeypatch.setattr(services, "submission_extend_lease", flaky_extend)
    module = SimpleNamespace(run=lambda payload, submission: time.sleep(1.2) or {"ok": True}, TIMEOUT=60)
    run = tasks._Run(automations.Automation("lenta", "1", "Lenta", (), module), make_submission(owner))
    run.start()
    assert run.wait() == "finished"
    assert run.outcome == {"ok": True}
    assert len(calls) >= 3
