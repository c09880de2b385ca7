"""audits.record(): one row, filled from the request, secrets redacted, inside the caller's transaction."""

import uuid
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.db import transaction
from django.test import RequestFactory

from audits.models import AuditEvent
from audits.services import REDACTED, record

pytestmark = pytest.mark.django_db


def _request(user, **meta):
    request = RequestFactory().post("/api/anything", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox/140",
                                    **meta)
    request.user = user
    request.request_id = "req-123"
    request.session = SimpleNamespace(public_id=uuid.UUID("6f1c8a52-3f7e-4c8a-9a51-1f9a8e1f3b10"),
                                      session_key="the-cookie-secret")
    return request


def test_it_fills_who_from_where_out_of_the_request(owner):
    event = record("auth.logout", request=_request(owner), kind="auth")
    event = AuditEvent.objects.get(pk=event.pk)
    assert (event.actor_id, event.actor_label) == (owner.pk, owner.email)
    assert event.ip == "203.0.113.9"
    assert event.user_agent == "Firefox/140"
    assert event.request_id == "req-123"
    assert event.session_public_id == uuid.UUID("6f1c8a52-3f7e-4c8a-9a51-1f9a8e1f3b10")
    assert event.status == "success"
    assert event.at is not None
    assert "the-cookie-secret" not in str(AuditEvent.objects.filter(pk=event.pk).values().get())


def test_an_anonymous_attempt_keeps_the_identifier_tried_and_never_the_password(db):
    event = record("auth.login", status="failure", request=_request(AnonymousUser()), kind="auth",
                   details={"identifier": "fulano@agepar.go.gov.br", "password": "hunter2",
                            "nested": [{"csrfToken": "abc", "reason": "bad_credentials"}]})
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor_id is None and event.actor_label == "anonymous"
    assert event.details == {"identifier": "fulano@agepar.go.gov.br", "password": REDACTED,
                             "nested": [{"csrfToken": REDACTED, "reason": "bad_credentials"}]}


def test_target_is_a_model_or_a_pair_and_details_become_json(owner):
    group = Group.objects.create(name="equipe-de-teste")
    by_model = record("user.deactivated", actor=owner, target=group, details={"when": uuid.UUID(int=1)})
    by_pair = record("submission.created", actor=owner, target=("submissions.submission", 42), kind="form2json")
    assert (by_model.target_type, by_model.target_id) == ("auth.group", str(group.pk))
    assert AuditEvent.objects.get(pk=by_model.pk).details == {"when": str(uuid.UUID(int=1))}
    assert (by_pair.target_type, by_pair.target_id, by_pair.kind) == ("submissions.submission", "42", "form2json")


@pytest.mark.parametrize("action", ["login", "Auth.Login", "auth.", "auth login", ""])
def test_action_names_must_be_dotted(owner, action):
    with pytest.raises(ValueError):
        record(action, actor=owner)
    assert not AuditEvent.objects.exists()


def _deactivate(user, *, fail_after_audit):
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        record("user.deactivated", actor=user, target=user, kind="users")
        if fail_after_audit:
            raise RuntimeError("something failed after the audit row was written")


def test_a_service_that_raises_after_recording_leaves_neither_row(owner):
    with pytest.raises(RuntimeError):
        _deactivate(owner, fail_after_audit=True)
    owner.refresh_from_db()
    assert owner.is_active is True
    assert not AuditEvent.objects.exists()

    # The same service succeeding commits both.
    _deactivate(owner, fail_after_audit=False)
    owner.refresh_from_db()
    assert owner.is_active is False
    assert AuditEvent.objects.filter(action="user.deactivated", target_id=str(owner.pk)).count() == 1


def test_recording_is_one_insert_in_the_callers_transaction_whatever_the_seals(owner):
    """The write path sealing must leave alone (issue 19): no lock, no read, no second statement."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from audits.seals import seal_audits

    record("auth.login", actor=owner, kind="auth")
    seal_audits()  # a sealed trail, so that any seal-aware write path would show here
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record("auth.logout", actor=owner, kind="auth", details={"n": 1})
    statements = [q["sql"] for q in queries.captured_queries if q["sql"] not in ("BEGIN", "COMMIT")]
    assert len(statements) == 1 and statements[0].startswith('INSERT INTO "audits_auditevent"'), statements
