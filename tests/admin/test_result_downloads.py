"""A submission's page downloads its result: each file and the JSON, for who may view it, audited like the API."""

import pytest
from django.core.files.storage import default_storage
from django.test import Client

from audits.models import AuditEvent
from submissions import tasks
from submissions.models import Submission
from tests.submissions.helpers import make_submission

pytestmark = pytest.mark.django_db
PAGE = "/admin/submissions/submission/{}/change/"


@pytest.fixture
def finished(settings, owner) -> Submission:
    """A run of the test automation that produced relatorio.txt and dados.csv."""
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = ["tests.submissions.outcome_automation"]
    submission = make_submission(owner, kind="test-outcome", payload={"mode": "files", "size": 10})
    tasks.run_submission.call(submission.pk)
    submission.refresh_from_db()
    assert submission.status == "done"
    return submission


def signed_in(user, **meta) -> Client:
    client = Client(**meta)
    client.force_login(user)
    return client


def downloads(submission) -> AuditEvent:
    return AuditEvent.objects.filter(action="submission.file_downloaded", target_id=str(submission.pk))


def test_the_page_has_a_button_per_file_and_one_for_the_json(auditor, finished):
    html = signed_in(auditor).get(PAGE.format(finished.pk)).content.decode()
    base = f"/admin/submissions/submission/{finished.pk}"
    for name in ("relatorio.txt", "dados.csv"):
        assert f'<a class="button" href="{base}/arquivos/{name}" download>Baixar</a> {name}' in html
    assert f'href="{base}/resultado.json" download>Baixar resultado (JSON)</a>' in html


def test_a_file_downloads_as_an_attachment_and_is_audited_like_the_api(auditor, finished):
    client = signed_in(auditor, REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="Firefox/130.0")
    response = client.get(f"/admin/submissions/submission/{finished.pk}/arquivos/dados.csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"a,b\n1,2\n"
    assert response["Content-Disposition"] == 'attachment; filename="dados.csv"'
    assert response["X-Content-Type-Options"] == "nosniff" and "no-store" in response["Cache-Control"]
    event = downloads(finished).get()
    assert event.actor == auditor and event.ip == "10.1.2.3" and event.user_agent == "Firefox/130.0"
    assert event.details == {"submission": finished.pk, "version": finished.version, "name": "dados.csv",
                             "size": 8, "via": "admin"}


def test_the_json_result_downloads_under_the_automations_name(auditor, finished):
    response = signed_in(auditor).get(f"/admin/submissions/submission/{finished.pk}/resultado.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="test-outcome-{finished.pk}.json"'
    assert response.json() == finished.result
    assert not downloads(finished).exists()  # as in the API, only files are audited


def test_who_may_not_view_submissions_downloads_nothing(plain_staff, admin_without_staff, finished):
    url = f"/admin/submissions/submission/{finished.pk}/arquivos/dados.csv"
    assert signed_in(plain_staff).get(url).status_code == 403
    assert signed_in(plain_staff).get(f"/admin/submissions/submission/{finished.pk}/resultado.json").status_code == 403
    assert signed_in(admin_without_staff).get(url).status_code == 302  # off to the admin's sign-in
    assert Client().get(url).status_code == 302
    assert not downloads(finished).exists()


def test_unknown_withdrawn_or_unfinished_runs_have_nothing_to_download(auditor, owner, finished):
    client = signed_in(auditor)
    assert client.get(f"/admin/submissions/submission/{finished.pk}/arquivos/outro.csv").status_code == 302
    assert client.get("/admin/submissions/submission/999999/resultado.json").status_code == 404
    queued = make_submission(owner)
    assert client.get(f"/admin/submissions/submission/{queued.pk}/resultado.json").status_code == 404
    assert "Baixar resultado" not in client.get(PAGE.format(queued.pk)).content.decode()
    Submission.objects.filter(pk=finished.pk).update(deleted_at=finished.finished_at)
    assert client.get(f"/admin/submissions/submission/{finished.pk}/arquivos/dados.csv").status_code == 404
    assert 'class="button"' not in client.get(PAGE.format(finished.pk)).content.decode()
    assert not downloads(finished).exists()


def test_a_file_whose_blob_is_gone_leads_back_to_the_page_with_a_message(auditor, finished):
    default_storage.delete(finished.files.get(name="dados.csv").storage_name)
    client = signed_in(auditor)
    response = client.get(f"/admin/submissions/submission/{finished.pk}/arquivos/dados.csv", follow=True)
    assert response.redirect_chain == [(PAGE.format(finished.pk), 302)]
    assert "O arquivo dados.csv não está mais disponível." in response.content.decode()
    assert not downloads(finished).exists()
