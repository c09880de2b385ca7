"""GET /api/submissions/{id}, POST .../retry, GET .../result, GET /api/automations: authorization and states.

Other people's ids answer 404; a retry is allowed only from error, any other state answers 409.
"""

import pytest

from submissions import payloads
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import make_submission


@pytest.fixture
def mine(owner):
    return make_submission(owner, status="done", result={"nome": "Ana Dona", "metadata": {"engine": "form2json@1.0.0"}})


# --- detail --------------------------------------------------------------------------------------

def test_owner_reads_own_submission_with_payload_and_result(owner_client, mine):
    body = owner_client.get(f"/api/submissions/{mine.pk}").json()
    assert body["id"] == mine.pk and body["status"] == "done"
    assert body["payload"]["nome"] and body["result"]["nome"] == "Ana Dona"
    assert set(body) == {"id", "kind", "version", "status", "payload", "result", "error", "attempts", "created_at",
                         "updated_at", "started_at", "finished_at", "actor"}


def test_other_user_gets_404_for_detail_retry_and_result(other_client, mine):
    assert other_client.get(f"/api/submissions/{mine.pk}").status_code == 404
    assert other_client.post(f"/api/submissions/{mine.pk}/retry").status_code == 404
    assert other_client.get(f"/api/submissions/{mine.pk}/result").status_code == 404


def test_missing_id_is_404(owner_client):
    assert owner_client.get("/api/submissions/999999").status_code == 404


def test_users_without_cpf_do_not_see_each_other(db):
    # The old portal compared actor_cpf only, so two CPF-less users matched (None == None).
    first, second = UserFactory(cpf=None), UserFactory(cpf=None)
    submission = make_submission(first)
    assert make_client(second).get(f"/api/submissions/{submission.pk}").status_code == 404


@pytest.mark.parametrize("role", ["admin", "controle", "auditor"])
def test_oversight_roles_read_anyones_submission(role, mine):
    assert make_client(UserFactory(roles=[role])).get(f"/api/submissions/{mine.pk}").status_code == 200


def test_staff_reads_anyones_submission(staff_client, mine):
    assert staff_client.get(f"/api/submissions/{mine.pk}").status_code == 200


def test_anonymous_gets_401_everywhere(anon_client, mine):
    assert anon_client.get(f"/api/submissions/{mine.pk}").status_code == 401
    assert anon_client.post(f"/api/submissions/{mine.pk}/retry").status_code == 401
    assert anon_client.get(f"/api/submissions/{mine.pk}/result").status_code == 401
    assert anon_client.get("/api/submissions").status_code == 401
    assert anon_client.get("/api/automations").status_code == 401


def test_soft_deleted_submission_is_gone(owner_client, owner):
    from django.utils import timezone

    deleted = make_submission(owner, deleted_at=timezone.now())
    assert owner_client.get(f"/api/submissions/{deleted.pk}").status_code == 404


# --- retry ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["queued", "running", "done"])
def test_retry_from_other_states_is_409(owner_client, owner, status):
    submission = make_submission(owner, status=status)
    response = owner_client.post(f"/api/submissions/{submission.pk}/retry")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


def test_retry_from_error_requeues_and_runs_again(owner_client, owner, django_capture_on_commit_callbacks):
    submission = make_submission(owner, status="error")
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"/api/submissions/{submission.pk}/retry")
    assert response.status_code == 200
    assert response.json()["status"] == "queued"
    submission.refresh_from_db()
    # The Immediate backend ran it on commit, as attempt 1 of a fresh series.
    assert (submission.status, submission.attempts, submission.retries) == ("done", 1, 1)


def test_second_retry_is_409(owner_client, owner, django_capture_on_commit_callbacks):
    submission = make_submission(owner, status="error")
    with django_capture_on_commit_callbacks(execute=False):
        assert owner_client.post(f"/api/submissions/{submission.pk}/retry").status_code == 200
        assert owner_client.post(f"/api/submissions/{submission.pk}/retry").status_code == 409


def test_retry_needs_the_role_still(owner, no_role_user):
    submission = make_submission(no_role_user, status="error")
    assert make_client(no_role_user).post(f"/api/submissions/{submission.pk}/retry").status_code == 403


def test_auditor_sees_but_cannot_retry_others(mine, owner):
    failed = make_submission(owner, status="error")
    response = make_client(UserFactory(roles=["auditor"])).post(f"/api/submissions/{failed.pk}/retry")
    assert response.status_code == 403


def test_admin_retries_anyones(staff_client, owner, django_capture_on_commit_callbacks):
    failed = make_submission(owner, status="error")
    with django_capture_on_commit_callbacks(execute=False):
        assert staff_client.post(f"/api/submissions/{failed.pk}/retry").status_code == 200


# --- result --------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", ["queued", "running", "error"])
def test_result_is_409_unless_done(owner_client, owner, status):
    submission = make_submission(owner, status=status)
    response = owner_client.get(f"/api/submissions/{submission.pk}/result")
    assert response.status_code == 409
    assert response.json()["code"] == "not_done"


def test_result_is_a_json_attachment(owner_client, mine):
    response = owner_client.get(f"/api/submissions/{mine.pk}/result")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="form2json-{mine.pk}.json"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json() == mine.result


# --- automations ---------------------------------------------------------------------------------

def test_automations_lists_what_the_caller_may_run_with_its_schema(owner_client):
    body = owner_client.get("/api/automations").json()
    assert [a["kind"] for a in body] == ["form2json"]
    schema = body[0]["payload_schema"]
    assert body[0]["version"] == "1.0.0" and body[0]["title"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert set(schema["required"]) == {"nome", "email", "departamento", "prioridade", "data", "aceitaTermos"}
    assert schema["properties"]["prioridade"]["enum"] == ["baixa", "media", "alta"]
    assert schema["properties"]["data"] == {"type": "string", "format": "date", "pattern": payloads.DATE,
                                            "title": "Data", "description": "AAAA-MM-DD"}
    assert schema["properties"]["aceitaTermos"]["const"] is True
    itens = schema["properties"]["itens"]
    assert itens["maxContains"] == 100  # blank rows are dropped, not counted
    assert itens["contains"]["properties"]["quantidade"]["minimum"] == 1
    assert schema["properties"]["nome"]["maxLength"] == 200


def test_automations_is_empty_without_roles(no_role_user):
    assert make_client(no_role_user).get("/api/automations").json() == []


def test_staff_sees_every_automation(staff_client):
    assert "form2json" in [a["kind"] for a in staff_client.get("/api/automations").json()]
