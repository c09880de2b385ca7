"""POST /api/submissions: validation, the roles that may create, and Idempotency-Key replays."""

import json

import pytest
from django.db import connection

from audits.models import AuditEvent
from submissions.models import Submission
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.helpers import at_once, payload_error_fields

URL = "/api/submissions"


def post(client, body, **headers):
    return client.post(URL, json.dumps(body) if not isinstance(body, (bytes, str)) else body,
                       content_type="application/json", **headers)


def assert_nothing_written():
    assert Submission.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="submission.").exists()


def test_create_returns_queued_submission_and_audits_it(owner, owner_client, form):
    response = post(owner_client, {"kind": "form2json", "payload": form})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "queued"
    assert body["kind"] == "form2json" and body["version"] == "1.0.0"
    assert body["actor"] == {"id": owner.pk, "nome": "Ana Dona", "email": owner.email, "cpf": "52998224725"}
    assert body["payload"]["email"] == "ana.dona@agepar.go.gov.br"
    submission = Submission.objects.get(pk=body["id"])
    assert submission.actor == owner and submission.status == "queued" and submission.attempts == 0
    event = AuditEvent.objects.get(action="submission.created")
    assert (event.actor_id, event.kind, event.target_id) == (owner.pk, "form2json", str(submission.pk))


def test_create_enqueues_the_run_only_after_commit(owner_client, form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post(owner_client, {"kind": "form2json", "payload": form})
    assert response.status_code == 201
    assert Submission.objects.get().status == "queued"  # nothing ran inside the request's transaction
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"nome": 123}, "nome"),
        ({"aceitaTermos": "true"}, "aceitaTermos"),
        ({"aceitaTermos": False}, "aceitaTermos"),
        ({"prioridade": "urgente"}, "prioridade"),
        ({"data": "14/03/2025"}, "data"),
        ({"data": "2025-02-30"}, "data"),
        ({"email": "not-an-email"}, "email"),
        ({"itens": [{"descricao": "x", "quantidade": "2"}]}, "itens"),
        ({"itens": [{"descricao": "x", "quantidade": 0}]}, "itens"),
        ({"itens": [{"descricao": "x", "quantidade": 1.5}]}, "itens"),
        ({"itens": {"descricao": "x"}}, "itens"),
        ({"itens": [{"descricao": "x", "quantidade": 1}] * 101}, "itens"),
        ({"nome": "x" * 201}, "nome"),
        ({"extra": "campo"}, "extra"),
    ],
)
def test_invalid_payload_gives_field_errors_and_writes_nothing(owner_client, form, change, field):
    form.update(change)
    response = post(owner_client, {"kind": "form2json", "payload": form})
    assert response.status_code == 400, response.json()
    assert field in payload_error_fields(response)
    assert_nothing_written()


@pytest.mark.parametrize("missing", ["nome", "email", "departamento", "prioridade", "data", "aceitaTermos"])
def test_missing_required_field(owner_client, form, missing):
    del form[missing]
    response = post(owner_client, {"kind": "form2json", "payload": form})
    assert response.status_code == 400
    assert missing in payload_error_fields(response)
    assert_nothing_written()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"kind": "nao-existe", "payload": {}}, "kind"),
        ({"payload": {}}, "kind"),
        ({"kind": "form2json"}, "payload"),
        ({"kind": "form2json", "payload": ["a", "b"]}, "payload"),
        ({"kind": "form2json", "payload": "texto"}, "payload"),
        ({"kind": "form2json", "payload": None}, "payload"),
    ],
)
def test_unknown_kind_and_non_object_payload(owner_client, body, where):
    response = post(owner_client, body)
    assert response.status_code == 400
    assert where in response.json()["errors"]
    assert_nothing_written()


@pytest.mark.parametrize("raw", ["[1, 2, 3]", '"texto"', "42", "{not json"])
def test_non_object_body(owner_client, raw):
    response = post(owner_client, raw)
    assert response.status_code == 400
    assert response.json()["code"] in ("parse_error", "invalid", "not_a_dict")
    assert_nothing_written()


def test_ten_megabyte_payload_is_refused_before_parsing(owner_client, form):
    form["nome"] = "x" * (10 * 1024 * 1024)
    response = post(owner_client, {"kind": "form2json", "payload": form})
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_written()


def test_valid_but_oversized_document_is_refused(owner_client, form, settings):
    settings.SUBMISSIONS_MAX_PAYLOAD_SIZE = 2048
    form["itens"] = [{"descricao": "d" * 400, "quantidade": 1}] * 5  # each field within bounds, sum is not
    body = json.dumps({"kind": "form2json", "payload": form})
    assert len(body) > 2048
    response = post(owner_client, body)
    assert response.status_code == 413
    assert_nothing_written()


def test_user_without_the_role_gets_403(no_role_user, form):
    response = post(make_client(no_role_user), {"kind": "form2json", "payload": form})
    assert response.status_code == 403
    assert response.json()["code"] == "missing_role"
    assert_nothing_written()


def test_admin_role_may_run_any_automation(staff_client, form):
    assert post(staff_client, {"kind": "form2json", "payload": form}).status_code == 201


def test_anonymous_gets_401(anon_client, form):
    assert post(anon_client, {"kind": "form2json", "payload": form}).status_code == 401
    assert_nothing_written()


def test_csrf_header_is_required(owner, form):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    assert post(client, {"kind": "form2json", "payload": form}).status_code == 403
    assert_nothing_written()


def test_same_idempotency_key_returns_the_first_submission(owner_client, form):
    first = post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="abc-123")
    again = post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert Submission.objects.count() == 1
    assert AuditEvent.objects.filter(action="submission.created").count() == 1


def test_idempotency_key_is_per_actor(owner_client, other_client, form):
    mine = post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="k1")
    theirs = post(other_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="k1")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_idempotency_key_reused_for_another_payload_is_409(owner_client, form):
    post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="k2")
    form["prioridade"] = "baixa"
    response = post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert Submission.objects.count() == 1


@pytest.mark.parametrize("key", ["", "com espaço", "x" * 129, "acentuação"])
def test_malformed_idempotency_key_is_400(owner_client, form, key):
    response = post(owner_client, {"kind": "form2json", "payload": form}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert_nothing_written()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_with_one_key_make_one_submission_and_no_500(form):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test: PostgreSQL")
    user = UserFactory(roles=["automations.form2json"])
    clients = [make_client(user) for _ in range(8)]
    statuses = at_once(clients, lambda client: post(client, {"kind": "form2json", "payload": form},
                                                    HTTP_IDEMPOTENCY_KEY="same").status_code)
    assert sorted(statuses) == [200] * 7 + [201]
    assert Submission.objects.filter(actor=user).count() == 1
