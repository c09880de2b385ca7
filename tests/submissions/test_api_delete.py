"""DELETE /api/submissions/{id}: withdrawal by the author or the admin role, per state; soft delete,
audited, files removed on commit, the row pruned later."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from audits.models import AuditEvent
from submissions import results, services, tasks
from submissions.models import Submission, SubmissionFile
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import make_submission

OUTCOME = "tests.submissions.outcome_automation"


def url(submission) -> str:
    return f"/api/submissions/{submission.pk}"


@pytest.fixture
def done_with_files(owner, settings):
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [OUTCOME]
    submission = make_submission(owner, kind="test-outcome", payload={"mode": "files"})
    tasks.run_submission.call(submission.pk)
    return Submission.objects.get(pk=submission.pk, status="done")


def test_done_submission_disappears_and_its_files_are_deleted_on_commit(
        owner, owner_client, done_with_files, django_capture_on_commit_callbacks):
    assert len(list(results.blob_names())) == 2
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = owner_client.delete(url(done_with_files))
        assert len(list(results.blob_names())) == 2  # nothing removed before the commit
    assert response.status_code == 204 and len(callbacks) == 1
    assert list(results.blob_names()) == []
    row = Submission.objects.get(pk=done_with_files.pk)
    assert row.deleted_at is not None and row.deleted_by == owner and row.status == "done"
    assert owner_client.get(url(done_with_files)).status_code == 404
    assert owner_client.get(f"{url(done_with_files)}/files/dados.csv").status_code == 404
    assert owner_client.get(f"{url(done_with_files)}/result").status_code == 404
    assert owner_client.delete(url(done_with_files)).status_code == 404
    assert owner_client.get("/api/submissions").json()["results"] == []
    event = AuditEvent.objects.get(action="submission.deleted")
    assert (event.actor, event.target_id, event.details["status"], event.details["files"]) == (
        owner, str(done_with_files.pk), "done", 2)


def test_queued_submission_is_never_run(owner, owner_client):
    submission = make_submission(owner)
    assert owner_client.delete(url(submission)).status_code == 204
    assert tasks.run_submission.call(submission.pk) == "skipped"
    assert Submission.objects.get(pk=submission.pk).status == "queued"
    assert not AuditEvent.objects.filter(action="submission.started").exists()


def test_error_submission_can_be_withdrawn_and_no_longer_retried(owner, owner_client):
    submission = make_submission(owner, status="error")
    assert owner_client.delete(url(submission)).status_code == 204
    assert owner_client.post(f"{url(submission)}/retry").status_code == 404
    with pytest.raises(services.InvalidTransition):
        services.submission_retry(submission=submission, actor=owner)


def test_running_submission_is_409_and_unchanged(owner, owner_client):
    submission = make_submission(owner, status="running")
    response = owner_client.delete(url(submission))
    assert response.status_code == 409 and response.json()["code"] == "running"
    assert Submission.objects.get(pk=submission.pk).deleted_at is None
    assert not AuditEvent.objects.filter(action="submission.deleted").exists()


def test_who_may_withdraw(owner, other_client):
    submission = make_submission(owner, status="done")
    assert other_client.delete(url(submission)).status_code == 404  # not theirs to see
    auditor = make_client(UserFactory(roles=["auditor"]))  # may see it, may not delete it
    response = auditor.delete(url(submission))
    assert response.status_code == 403 and response.json()["code"] == "missing_role"
    assert make_client().delete(url(submission)).status_code == 401
    assert Submission.objects.get(pk=submission.pk).deleted_at is None
    admin = UserFactory(roles=["admin"])
    assert make_client(admin).delete(url(submission)).status_code == 204
    assert Submission.objects.get(pk=submission.pk).deleted_by == admin


def test_a_withdrawn_row_is_pruned_later_and_its_files_stay_gone(
        owner, owner_client, done_with_files, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.delete(url(done_with_files))
    Submission.objects.filter(pk=done_with_files.pk).update(deleted_at=timezone.now() - timedelta(days=400))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("prune_submissions", "--older-than", "365d", stdout=StringIO())
    assert not Submission.objects.filter(pk=done_with_files.pk).exists()
    assert not SubmissionFile.objects.exists() and list(results.blob_names()) == []


def test_withdrawn_queued_rows_are_pruned_too(owner):
    queued = make_submission(owner, deleted_at=timezone.now() - timedelta(days=400))
    live = make_submission(owner)
    Submission.objects.filter(pk=live.pk).update(created_at=timezone.now() - timedelta(days=400))  # queued: kept
    assert services.submissions_prune(before=timezone.now() - timedelta(days=365)) == 1
    assert list(Submission.objects.values_list("pk", flat=True)) == [live.pk]
    assert not Submission.objects.filter(pk=queued.pk).exists()
