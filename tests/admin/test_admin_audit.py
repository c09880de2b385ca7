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


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_deactivating_users_from_the_list_ends_their_sessions_and_records_the_reason(staff, owner, session_of):
    from accounts.services import REASON_USER_DEACTIVATED

    session = session_of(owner)
    response = run_admin_action(signed_in(staff), "/admin/accounts/user/", "deactivate_users", [owner.pk],
                                "desligado do órgão", **WHERE)
    assert "1 usuário(s) desativado(s)." in response.content.decode()
    owner.refresh_from_db()
    session.refresh_from_db()
    assert not owner.is_active
    assert session.revoked_at is not None and session.revoked_by == staff
    assert session.revoke_reason == REASON_USER_DEACTIVATED
    event = AuditEvent.objects.get(action="user.deactivated")
    assert (event.actor, event.target_type, event.target_id) == (staff, "accounts.user", str(owner.pk))
    assert event.details == {"sessions_revoked": 1, "reason": "desligado do órgão"}
    assert_from_the_client(event)
    assert AuditEvent.objects.get(action="auth.session_revoked").target_id == str(session.public_id)


def test_an_admin_action_that_fails_midway_leaves_neither_the_change_nor_its_event(
        staff, owner, session_of, record_dies_at):
    from accounts import services

    session = session_of(owner)
    # The sessions are revoked and the user deactivated, then writing user.deactivated fails.
    record_dies_at(services, 2)
    with pytest.raises(RuntimeError, match="killed"):
        run_admin_action(signed_in(staff), "/admin/accounts/user/", "deactivate_users", [owner.pk], "saiu", **WHERE)
    owner.refresh_from_db()
    session.refresh_from_db()
    assert owner.is_active and session.revoked_at is None
    assert not AuditEvent.objects.exists()


def test_a_group_permission_edit_that_fails_leaves_neither_the_change_nor_its_event(superuser, record_dies_at):
    from django.contrib.auth.models import Group, Permission

    from accounts import services

    group = Group.objects.create(name="suporte")
    record_dies_at(services, 1)
    with pytest.raises(RuntimeError, match="killed"):
        signed_in(superuser).post(f"/admin/auth/group/{group.pk}/change/", {
            "name": "suporte-2", "permissions": [Permission.objects.get(codename="view_user").pk]}, **WHERE)
    group.refresh_from_db()
    assert group.name == "suporte" and not group.permissions.exists()
    assert not AuditEvent.objects.exists()


# Each admin act, done through its screen from WHERE: (who does it, what it does, the event it leaves).
def _create_user(client, owner, share, submission):
    return client.post("/admin/accounts/user/add/", {
        "email": "nova@agepar.go.gov.br", "nome": "Nova Pessoa", "password1": "Senha-inicial-forte-1",
        "password2": "Senha-inicial-forte-1", "usable_password": "true"}, **WHERE)


def _set_password(client, owner, share, submission):
    return client.post(f"/admin/accounts/user/{owner.pk}/password/", {
        "password1": "Senha-nova-forte-22", "password2": "Senha-nova-forte-22", "set_usable_password": "true"},
        **WHERE)


def _change_group(client, owner, share, submission):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="suporte")
    return client.post(f"/admin/auth/group/{group.pk}/change/", {
        "name": "suporte", "permissions": [Permission.objects.get(codename="view_user").pk]}, **WHERE)


def _action(changelist, action):
    def act(client, owner, share, submission):
        pk = {"user": owner, "fileshareitem": share, "submission": submission}[changelist.split("/")[3]].pk
        return run_admin_action(client, changelist, action, [pk], "motivo registrado", **WHERE)

    return act


ADMIN_ACTS = {
    "user.created": ("staff", _create_user),
    "user.password_set": ("staff", _set_password),
    "group.changed": ("superuser", _change_group),
    "submission.retried": ("staff", _action("/admin/submissions/submission/", "retry_selected")),
    "submission.failed": ("staff", _action("/admin/submissions/submission/", "mark_as_error")),
    "fileshare.deleted": ("staff", _action("/admin/fileshare/fileshareitem/", "delete_items")),
    "fileshare.expired": ("staff", _action("/admin/fileshare/fileshareitem/", "expire_now")),
    "user.deactivated": ("staff", _action("/admin/accounts/user/", "deactivate_users")),
}


@pytest.mark.parametrize("action", ADMIN_ACTS)
def test_each_kind_of_admin_act_is_recorded_with_ip_user_agent_and_request_id(
        request, action, owner, share_of, submission_of):
    from datetime import timedelta

    from django.utils import timezone

    persona, act = ADMIN_ACTS[action]
    actor = request.getfixturevalue(persona)
    # Retry takes a failed run (long enough ago for the backoff); mark-as-error a stuck (queued) one.
    status = "error" if action == "submission.retried" else "queued"
    submission = submission_of(owner, status=status, finished_at=timezone.now() - timedelta(hours=1)
                               if status == "error" else None)
    response = act(signed_in(actor), owner, share_of(owner), submission)
    assert response.status_code in (200, 302)
    event = AuditEvent.objects.get(action=action)
    assert event.actor == actor
    assert_from_the_client(event)
    if action not in ("user.created", "user.password_set", "group.changed"):
        assert "motivo registrado" in (event.details.get("reason"), event.details.get("note"),
                                       event.details.get("error"))
