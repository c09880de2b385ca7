"""form2json end to end — POST → 201 queued → worker → done → download; one audit event per step.

The in-process test uses the Immediate backend; the real-worker test runs `manage.py db_worker`
against the test database (SQLite or PostgreSQL, whichever this run uses).
"""

import json

import pytest
import requests
from django.utils.dateparse import parse_datetime

from audits.models import AuditEvent
from submissions.models import Submission
from tests.live import gunicorn
from tests.submissions.helpers import db_worker, wait_for

EXPECTED = {
    "nome": "Ana Dona",
    "email": "ana.dona@agepar.go.gov.br",
    "departamento": "Compras",
    "prioridade": "alta",
    "data": "2025-03-14",
    "aceitaTermos": True,
    "itens": [{"descricao": "Cadeira de escritório", "quantidade": 2}, {"descricao": "Mesa", "quantidade": 1}],
}


def assert_normalised(document, submission_id):
    metadata = document.pop("metadata")
    assert document == EXPECTED
    assert metadata["engine"] == "form2json@1.0.0"
    assert metadata["submissionId"] == submission_id
    assert parse_datetime(metadata["geradoEm"]) is not None


def test_form2json_end_to_end_in_process(owner_client, form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        created = owner_client.post("/api/submissions", {"kind": "form2json", "payload": form}, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "queued"
    sid = created.json()["id"]

    detail = owner_client.get(f"/api/submissions/{sid}").json()
    assert detail["status"] == "done" and detail["attempts"] == 1 and detail["error"] == ""
    assert detail["started_at"] and detail["finished_at"]

    download = owner_client.get(f"/api/submissions/{sid}/result")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/json")
    assert download["Content-Disposition"] == f'attachment; filename="form2json-{sid}.json"'
    document = json.loads(download.content)
    assert document == detail["result"]
    assert_normalised(document, sid)

    actions = list(AuditEvent.objects.filter(target_id=str(sid)).order_by("id").values_list("action", flat=True))
    assert actions == ["submission.created", "submission.started", "submission.completed"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_form2json_end_to_end_with_real_worker_and_server(tmp_path, settings):
    """Web (gunicorn) and worker (db_worker) are separate processes sharing only the database."""
    from django.test import Client

    from tests.factories import UserFactory
    from tests.submissions.conftest import FORM

    user = UserFactory(nome="Ana Dona", cpf="52998224725", roles=["automations.form2json"])
    # A session made here is valid in gunicorn when both sign with the same SECRET_KEY.
    signer = Client()
    signer.force_login(user)
    cookie = signer.cookies[settings.SESSION_COOKIE_NAME].value
    with gunicorn(tmp_path, TASKS_BACKEND="django_tasks_db.DatabaseBackend", SECRET_KEY=settings.SECRET_KEY) as base, \
            db_worker(tmp_path, SECRET_KEY=settings.SECRET_KEY) as worker:
        session = requests.Session()
        session.cookies.set("sessionid", cookie)  # production_env turns Secure cookies off: plain name
        token = session.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
        headers = {"X-CSRFToken": token, "Referer": base + "/"}
        created = session.post(f"{base}/api/submissions", json={"kind": "form2json", "payload": FORM},
                               headers=headers, timeout=10)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "queued"
        sid = created.json()["id"]

        def done():
            return session.get(f"{base}/api/submissions/{sid}", timeout=10).json()["status"] == "done"

        wait_for(done, timeout=60, what=f"submission done (worker log: {worker.log_path})")
        download = session.get(f"{base}/api/submissions/{sid}/result", timeout=10)
        assert download.status_code == 200
        assert "attachment" in download.headers["Content-Disposition"]
        assert_normalised(download.json(), sid)

    actions = list(AuditEvent.objects.filter(target_id=str(sid)).order_by("id").values_list("action", flat=True))
    assert actions == ["submission.created", "submission.started", "submission.completed"]
    assert Submission.objects.get(pk=sid).attempts == 1
