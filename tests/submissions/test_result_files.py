"""File results: stored through STORAGES under server names, listed in `result`, downloaded by who may
read the submission, removed with it (prune) and by the orphan cleanup; a run whose files cannot be
stored fails cleanly and leaves no blob."""

import hashlib
import os
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from audits.models import AuditEvent
from submissions import results, tasks
from submissions.models import Submission, SubmissionFile
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import make_submission

OUTCOME = "tests.submissions.outcome_automation"
STORAGE_NAME = re.compile(r"^results/\d{4}/\d{2}/[0-9a-f]{32}$")


@pytest.fixture(autouse=True)
def outcome_automation(settings):
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [OUTCOME]


def blobs() -> list[str]:
    return sorted(results.blob_names())


def run(owner, mode="files", **payload) -> Submission:
    submission = make_submission(owner, kind="test-outcome", payload={"mode": mode, **payload})
    tasks.run_submission.call(submission.pk)
    return Submission.objects.get(pk=submission.pk)


def test_files_are_stored_under_server_names_and_listed_without_paths(owner):
    submission = run(owner, size=1000)
    assert submission.status == "done"
    assert submission.result == {"ok": True, "files": [
        {"name": "relatorio.txt", "size": 1000, "content_type": "text/plain",
         "sha256": hashlib.sha256(b"r" * 1000).hexdigest()},
        {"name": "dados.csv", "size": 8, "content_type": "text/csv",
         "sha256": hashlib.sha256(b"a,b\n1,2\n").hexdigest()},
    ]}
    rows = list(SubmissionFile.objects.filter(submission=submission).order_by("id"))
    assert [r.name for r in rows] == ["relatorio.txt", "dados.csv"]
    assert blobs() == sorted(r.storage_name for r in rows)
    assert all(STORAGE_NAME.match(r.storage_name) for r in rows)
    assert f"results/{timezone.now():%Y/%m}/" in rows[0].storage_name
    assert default_storage.open(rows[1].storage_name).read() == b"a,b\n1,2\n"
    event = AuditEvent.objects.get(action="submission.completed", target_id=str(submission.pk))
    assert event.details["files"] == ["relatorio.txt", "dados.csv"]


def test_owner_downloads_a_file_as_an_attachment(owner, owner_client):
    submission = run(owner)
    response = owner_client.get(f"/api/submissions/{submission.pk}/files/dados.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert response["Content-Disposition"] == 'attachment; filename="dados.csv"'
    assert response["Content-Type"] == "text/csv"
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
    assert AuditEvent.objects.filter(action="submission.file_downloaded", target_id=str(submission.pk),
                                     actor=owner).count() == 1


def test_who_may_read_the_submission_may_download_its_files(owner, other_client, anon_client):
    submission = run(owner)
    url = f"/api/submissions/{submission.pk}/files/dados.csv"
    assert other_client.get(url).status_code == 404
    assert anon_client.get(url).status_code == 401
    auditor = make_client(UserFactory(roles=["auditor"]))
    assert auditor.get(url).status_code == 200


@pytest.mark.parametrize("name", ["nada.csv", "..", "%2e%2e", "results", "DADOS.CSV"])
def test_unknown_file_names_are_404(owner, owner_client, name):
    submission = run(owner)
    assert owner_client.get(f"/api/submissions/{submission.pk}/files/{name}").status_code == 404


def test_files_of_a_run_that_is_not_done_are_409(owner, owner_client):
    submission = make_submission(owner, kind="test-outcome", payload={"mode": "files"}, status="running")
    response = owner_client.get(f"/api/submissions/{submission.pk}/files/dados.csv")
    assert response.status_code == 409 and response.json()["code"] == "not_done"


def test_result_endpoint_gives_the_single_file_or_the_json(owner, owner_client):
    single = run(owner, "one_file", size=5)
    response = owner_client.get(f"/api/submissions/{single.pk}/result")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"rrrrr"
    assert response["Content-Disposition"] == 'attachment; filename="relatorio.txt"'
    several = run(owner)
    response = owner_client.get(f"/api/submissions/{several.pk}/result")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert [f["name"] for f in response.json()["files"]] == ["relatorio.txt", "dados.csv"]


def test_files_past_the_automation_limit_fail_the_run_and_leave_no_blob(owner):
    submission = run(owner, size=64 * 1024)  # the report alone fits; with the CSV it is 8 bytes over
    assert submission.status == "error"
    assert submission.error == "Os arquivos do resultado passam do limite de 0.0625 MiB."
    assert blobs() == [] and not SubmissionFile.objects.exists()


def test_storage_that_fails_mid_run_leaves_no_blob(owner, settings, monkeypatch):
    settings.SUBMISSIONS_MAX_ATTEMPTS = 1
    real_save, saves = default_storage.save, []

    def save_then_fail(name, content, **kwargs):
        saves.append(name)
        if len(saves) == 2:
            raise OSError(28, "No space left on device")
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(default_storage, "save", save_then_fail)
    submission = run(owner)
    assert submission.status == "error"
    assert submission.error.startswith("Não foi possível guardar os arquivos do resultado.")
    assert len(saves) == 2 and blobs() == [] and not SubmissionFile.objects.exists()


def test_a_run_whose_row_was_taken_back_leaves_no_blob(owner, monkeypatch):
    from submissions import services

    def lose_the_row(*, submission, **kwargs):
        Submission.objects.filter(pk=submission.pk).update(status="queued")  # requeue_stale won meanwhile
        return real_finish(submission=submission, **kwargs)

    real_finish = services.submission_finish
    monkeypatch.setattr(services, "submission_finish", lose_the_row)
    submission = run(owner)
    assert submission.status == "queued"
    assert blobs() == [] and not SubmissionFile.objects.exists()


def test_prune_deletes_the_files_with_their_submission(owner, django_capture_on_commit_callbacks):
    old, recent = run(owner), run(owner)
    Submission.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=400))
    kept = sorted(SubmissionFile.objects.filter(submission=recent).values_list("storage_name", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("prune_submissions", "--older-than", "365d", stdout=StringIO())
    assert not Submission.objects.filter(pk=old.pk).exists()
    assert not SubmissionFile.objects.filter(submission_id=old.pk).exists()
    assert blobs() == kept


def orphan(*, age: timedelta) -> str:
    name = default_storage.save(f"results/{timezone.now():%Y/%m}/{os.urandom(16).hex()}", StringIO("x"))
    stamp = (timezone.now() - age).timestamp()
    os.utime(default_storage.path(name), (stamp, stamp))
    return name


def test_orphan_cleanup_removes_unlisted_old_blobs_only(owner, owner_client, django_capture_on_commit_callbacks):
    live = run(owner)
    live_names = sorted(SubmissionFile.objects.filter(submission=live).values_list("storage_name", flat=True))
    withdrawn = run(owner)
    # A delete whose blob removal failed leaves blobs behind a withdrawn submission's rows.
    Submission.objects.filter(pk=withdrawn.pk).update(deleted_at=timezone.now())
    withdrawn_names = list(SubmissionFile.objects.filter(submission=withdrawn).values_list("storage_name", flat=True))
    for name in live_names + withdrawn_names:
        stamp = (timezone.now() - timedelta(hours=2)).timestamp()
        os.utime(default_storage.path(name), (stamp, stamp))
    old, young = orphan(age=timedelta(hours=2)), orphan(age=timedelta(minutes=5))
    unrelated = default_storage.save("2025/01/" + "a" * 32, StringIO("a share's blob"))

    out = StringIO()
    call_command("cleanup_submission_files", "--dry-run", stdout=out)
    assert "would remove 3" in out.getvalue() and old in blobs()

    call_command("cleanup_submission_files", stdout=out)
    assert blobs() == sorted([*live_names, young])
    assert old not in blobs() and default_storage.exists(unrelated)
    assert AuditEvent.objects.get(action="submission.files_cleaned").details == {"orphans": 3}


def test_cleanup_with_an_empty_storage(db):
    out = StringIO()
    call_command("cleanup_submission_files", stdout=out)
    assert "removed 0" in out.getvalue()


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 151, "relatório.pdf"])
def test_automation_file_names_are_checked(name):
    from submissions.automations import ResultFile

    with pytest.raises(ValueError):
        results.check([ResultFile(name, "text/plain", b"")])
