"""Passing failures are retried with growing delays up to SUBMISSIONS_MAX_ATTEMPTS; permanent ones end
in error at once; a manual retry starts a fresh series, and manual retries back off too."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audits.models import AuditEvent
from submissions import services, tasks
from submissions.models import Submission
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import make_submission

OUTCOME = "tests.submissions.outcome_automation"


@pytest.fixture(autouse=True)
def database_queue(settings):
    # The database queue keeps each task's run_after; the tests play the worker by calling the task.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [OUTCOME]
    settings.SUBMISSIONS_MAX_ATTEMPTS = 4
    settings.SUBMISSIONS_RETRY_BACKOFF = 10
    settings.SUBMISSIONS_RETRY_BACKOFF_MAX = 3600


def row(submission) -> Submission:
    return Submission.objects.get(pk=submission.pk)


def test_a_passing_failure_is_retried_with_growing_delays_up_to_the_maximum(owner):
    submission = make_submission(owner, kind="test-outcome", payload={"mode": "retryable"})
    delays = []
    for attempt in (1, 2, 3):
        before = timezone.now()
        assert tasks.run_submission.call(submission.pk) == "deferred"
        current = row(submission)
        assert (current.status, current.attempts) == ("queued", attempt)
        assert current.error == "Serviço externo indisponível."
        queued_task = DBTaskResult.objects.filter(status="READY").get()
        assert queued_task.run_after == current.run_after  # the queue holds the task back until then
        delays.append(round((current.run_after - before).total_seconds()))
        queued_task.delete()  # as the worker does when it takes it
    assert delays == [10, 20, 40]
    assert tasks.run_submission.call(submission.pk) == "error"  # the 4th attempt was the last
    current = row(submission)
    assert (current.status, current.attempts, current.run_after) == ("error", 4, None)
    assert current.error == "Serviço externo indisponível. (falhou 4 vez(es); limite de tentativas atingido)"
    assert not DBTaskResult.objects.filter(status="READY").exists()
    actions = list(AuditEvent.objects.filter(target_id=str(submission.pk)).order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["submission.started", "submission.retry_scheduled"] * 3 + [
        "submission.started", "submission.failed"]


def test_the_delay_is_capped(settings):
    settings.SUBMISSIONS_RETRY_BACKOFF_MAX = 60
    assert [services.retry_delay(n) for n in range(6)] == [0, 10, 20, 40, 60, 60]


def test_a_permanent_failure_is_an_error_at_once(owner):
    submission = make_submission(owner, kind="test-outcome", payload={"mode": "permanent"})
    assert tasks.run_submission.call(submission.pk) == "error"
    current = row(submission)
    assert (current.status, current.attempts, current.error) == ("error", 1, "Dados recusados pelo serviço externo.")
    assert not DBTaskResult.objects.exists()


def test_a_manual_retry_starts_again_from_attempt_1(db, settings):
    settings.SUBMISSIONS_MAX_ATTEMPTS = 1
    author = UserFactory(roles=["admin"])  # the role this test automation asks for
    submission = make_submission(author, kind="test-outcome", payload={"mode": "retryable"})
    assert tasks.run_submission.call(submission.pk) == "error"
    assert row(submission).attempts == 1
    assert make_client(author).post(f"/api/submissions/{submission.pk}/retry").status_code == 200
    assert (row(submission).status, row(submission).attempts, row(submission).retries) == ("queued", 0, 1)
    # Once the maximum was reached, a retried row used to fail at its first lease expiry:
    # now it is a fresh series, so its first run is attempt 1 and it gets its own tries.
    Submission.objects.filter(pk=submission.pk).update(payload={"mode": "one_file"})
    assert tasks.run_submission.call(submission.pk) == "done"
    assert row(submission).attempts == 1


def test_manual_retries_faster_than_the_backoff_are_refused(owner, owner_client):
    submission = make_submission(owner, status="error")
    retry = f"/api/submissions/{submission.pk}/retry"
    assert owner_client.post(retry).status_code == 200  # the first retry may come at once

    def fail_again(ago: float):
        Submission.objects.filter(pk=submission.pk).update(
            status="error", finished_at=timezone.now() - timedelta(seconds=ago))

    fail_again(ago=5)
    response = owner_client.post(retry)
    assert response.status_code == 429 and response.json()["code"] == "retry_too_soon"
    assert 1 <= int(response["Retry-After"]) <= 5  # the second retry waits 10 s after the run ended
    assert row(submission).status == "error" and row(submission).retries == 1
    fail_again(ago=11)
    assert owner_client.post(retry).status_code == 200
    fail_again(ago=11)
    response = owner_client.post(retry)  # the third waits 20 s
    assert response.status_code == 429 and 8 <= int(response["Retry-After"]) <= 9
    assert AuditEvent.objects.filter(action="submission.retried", target_id=str(submission.pk)).count() == 2
