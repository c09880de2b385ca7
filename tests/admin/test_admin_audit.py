"""Every act in the admin reaches the audit trail with who, from where (IP, user agent) and the request id."""

import pytest
from django.test import Client

from audits.models import AuditEvent
from tests.admin_actions import run_admin_action
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
WHERE = {"REMOTE_ADDR": "198.51.100.7", "HTTP_USER_AGENT": "Firefox/140 (estação 12)"}


def sign_in(client: Client, identifier: str, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": identifier, "password": password}, **WHERE)


def assert_from_the_client(event: AuditEvent):
    assert (event.ip, event.user_agent) == ("198.51.100.7", "Firefox/140 (estação 12)")
    assert len(event.request_id) == 32


def test_an_admin_sign_in_and_sign_out_are_recorded(auditor):
    client = Client()
    assert sign_in(client, auditor.email, DEFAULT_PASSWORD).status_code == 302
    login = AuditEvent.objects.get(action="auth.login")
    assert (login.status, login.actor, login.kind) == ("success", auditor, "auth")
    assert login.details == {"identifier": auditor.email, "via": "admin"}
    assert login.session_public_id is not None
    assert_from_the_client(login)

    assert client.post("/admin/logout/", **WHERE).status_code == 200
    logout = AuditEvent.objects.get(action="auth.logout")
    assert logout.actor == auditor and logout.target_id == str(login.session_public_id)
    assert_from_the_client(logout)


def test_a_failed_admin_sign_in_and_the_lockout_are_recorded(auditor, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    for _ in range(2):
        assert sign_in(Client(), auditor.email, "senha-errada-123").status_code == 200
    failures = AuditEvent.objects.filter(action="auth.login", status="failure").order_by("id")
    assert [event.details for event in failures] == [{"identifier": auditor.email, "via": "admin"}] * 2
    assert_from_the_client(failures[0])

    # The right password once the allowance is used up: refused without a password check; the lockout
    # (accounts.lockout, every door) records it once, and no sign-in happens.
    assert sign_in(Client(), auditor.email, DEFAULT_PASSWORD).status_code == 429
    locked = AuditEvent.objects.get(action="auth.locked_out")
    assert locked.status == "failure" and locked.details["identifier"] == auditor.email
    assert_from_the_client(locked)
    assert AuditEvent.objects.filter(action="auth.login").count() == 2
    assert not AuditEvent.objects.filter(action="auth.login", status="success").exists()


def test_api_sign_ins_are_not_recorded_twice(owner):
    from tests.accounts.conftest import api_login
    from tests.conftest import make_client

    api_login(make_client(), owner.email)
    assert AuditEvent.objects.filter(action="auth.login").count() == 1


def test_each_admin_action_is_recorded_with_its_reason_and_origin(staff, owner, session_of, share_of):
    client = Client()
    client.force_login(staff)
    session, share = session_of(owner), share_of(owner)
    run_admin_action(client, "/admin/accounts/session/", "revoke_selected", [session.pk], "sessão suspeita", **WHERE)
    run_admin_action(client, "/admin/fileshare/fileshareitem/", "expire_now", [share.pk], "pedido do dono", **WHERE)
    revoked = AuditEvent.objects.get(action="auth.session_revoked")
    expired = AuditEvent.objects.get(action="fileshare.expired")
    assert revoked.details["reason"] == "sessão suspeita" and expired.details["reason"] == "pedido do dono"
    for event in (revoked, expired):
        assert event.actor == staff
        assert_from_the_client(event)


def test_an_action_without_a_reason_does_nothing(staff, owner, session_of):
    client = Client()
    client.force_login(staff)
    session = session_of(owner)
    response = client.post("/admin/accounts/session/", {"action": "revoke_selected", "confirm": "1", "reason": " ",
                                                        "_selected_action": [session.pk]})
    assert response.status_code == 200 and "Este campo é obrigatório." in response.content.decode()
    session.refresh_from_db()
    assert session.revoked_at is None and not AuditEvent.objects.exists()
