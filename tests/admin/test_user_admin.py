"""The user admin: nobody raises their own privileges or anyone's above their own; every change audited."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from accounts import services
from accounts.models import User
from agepar.errors import Forbidden
from audits.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
USERS = "/admin/accounts/user/"


def form_data(user: User, **changes) -> dict:
    """The change form as the page posts it: checkboxes present only when ticked."""
    data = {"email": user.email, "nome": user.nome, "cpf": user.cpf or "", "reason": "",
            "groups": [g.pk for g in user.groups.all()]}
    for flag in ("is_active", "is_staff", "is_superuser", "must_change_password"):
        if changes.pop(flag, getattr(user, flag)):
            data[flag] = "on"
    data.update(changes)
    return data


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def role(name: str) -> Group:
    return Group.objects.get(name=name)


def test_an_admin_cannot_make_anyone_superuser_or_staff_nor_change_their_own_roles(staff, owner):
    client = signed_in(staff)
    response = client.post(f"{USERS}{staff.pk}/change/", form_data(
        staff, is_superuser=True, groups=[role("admin").pk, role("rh").pk]))
    assert response.status_code == 302  # the fields are read-only for them: ignored, not saved
    staff.refresh_from_db()
    assert not staff.is_superuser and sorted(staff.groups.values_list("name", flat=True)) == ["admin"]
    client.post(f"{USERS}{owner.pk}/change/", form_data(owner, is_superuser=True, is_staff=True))
    owner.refresh_from_db()
    assert not owner.is_superuser and not owner.is_staff
    assert not AuditEvent.objects.filter(details__changes__is_superuser__isnull=False).exists()


def test_an_admin_grants_roles_to_others_with_before_and_after_in_the_trail(staff, owner):
    response = signed_in(staff).post(f"{USERS}{owner.pk}/change/", form_data(
        owner, groups=[role("compras").pk, role("auditor").pk], must_change_password=True, reason="nova função"),
        HTTP_USER_AGENT="Navegador/1.0", REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="user.changed")
    assert (event.actor, event.target_type, event.target_id) == (staff, "accounts.user", str(owner.pk))
    assert event.details == {"fields": ["must_change", "roles"], "reason": "nova função", "changes": {
        "must_change": {"before": False, "after": True},
        "roles": {"before": [], "after": ["auditor", "compras"]}}}
    assert (event.ip, event.user_agent) == ("198.51.100.9", "Navegador/1.0") and event.request_id


def test_staff_with_a_hand_given_change_permission_cannot_grant_a_role_they_lack(owner):
    support = Group.objects.create(name="suporte")
    support.permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    helper = UserFactory(is_staff=True)
    helper.groups.add(support)
    response = signed_in(helper).post(f"{USERS}{owner.pk}/change/", form_data(owner, groups=[role("admin").pk]))
    assert response.status_code == 200
    assert "Você não pode conceder nem retirar o papel “admin”." in response.content.decode()
    assert not owner.groups.exists() and not AuditEvent.objects.exists()


def test_only_a_superuser_edits_a_superuser(staff, superuser):
    client = signed_in(staff)
    page = client.get(f"{USERS}{superuser.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert client.post(f"{USERS}{superuser.pk}/change/", form_data(superuser, email="eu@x.br")).status_code == 403
    assert client.post(f"{USERS}{superuser.pk}/password/",
                       {"password1": "Outra-senha-123", "password2": "Outra-senha-123"}).status_code == 403
    superuser.refresh_from_db()
    assert superuser.email == "sofia.super@agepar.go.gov.br" and superuser.check_password(DEFAULT_PASSWORD)


def test_a_refused_change_leaves_neither_the_change_nor_its_event(staff, owner):
    owner.is_superuser = True
    with pytest.raises(Forbidden):
        services.user_save(user=owner, actor=staff, roles=[role("admin")])
    owner.refresh_from_db()
    assert not owner.is_superuser and not owner.groups.exists() and not AuditEvent.objects.exists()


def test_a_superuser_grants_staff_and_superuser_status(superuser, owner):
    response = signed_in(superuser).post(f"{USERS}{owner.pk}/change/", form_data(owner, is_staff=True,
                                                                                 is_superuser=True))
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="user.changed").details["changes"] == {
        "is_staff": {"before": False, "after": True}, "is_superuser": {"before": False, "after": True}}


def test_deactivating_needs_a_reason(staff, owner):
    response = signed_in(staff).post(f"{USERS}{owner.pk}/change/", form_data(owner, is_active=False))
    assert response.status_code == 200 and "Informe o motivo da desativação." in response.content.decode()
    owner.refresh_from_db()
    assert owner.is_active


def test_a_user_created_by_staff_must_change_the_password(staff):
    response = signed_in(staff).post(f"{USERS}add/", {
        "email": "Nova.Pessoa@agepar.go.gov.br", "nome": "Nova Pessoa", "cpf": "529.982.247-25",
        "password1": "Senha-inicial-forte-1", "password2": "Senha-inicial-forte-1", "usable_password": "true"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="nova.pessoa@agepar.go.gov.br")
    assert user.cpf == "52998224725" and user.must_change_password
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor == staff and "Senha-inicial" not in str(event.details)
    assert event.details["changes"]["must_change"] == {"before": None, "after": True}


def test_a_password_set_by_staff_is_audited_ends_the_sessions_and_must_be_changed(staff, owner, session_of):
    session = session_of(owner)
    response = signed_in(staff).post(f"{USERS}{owner.pk}/password/", {
        "password1": "Senha-nova-forte-22", "password2": "Senha-nova-forte-22", "set_usable_password": "true"})
    assert response.status_code == 302
    owner.refresh_from_db()
    session.refresh_from_db()
    assert owner.check_password("Senha-nova-forte-22") and owner.must_change_password
    assert session.revoked_at is not None
    event = AuditEvent.objects.get(action="user.password_set")
    assert event.actor == staff and event.details == {"usable": True, "must_change": True,
                                                      "sessions_revoked": 1}
    assert "Senha-nova" not in str(AuditEvent.objects.values_list("details", flat=True))


def test_must_change_password_leads_to_the_password_page_until_changed(staff):
    User.objects.filter(pk=staff.pk).update(must_change_password=True)
    client = signed_in(staff)
    response = client.get("/admin/audits/auditevent/")
    assert response.status_code == 302 and response["Location"] == "/admin/password_change/"
    assert client.get("/admin/password_change/").status_code == 200
    response = client.post("/admin/password_change/", {"old_password": DEFAULT_PASSWORD,
                                                       "new_password1": "Outra-senha-forte-3",
                                                       "new_password2": "Outra-senha-forte-3"})
    assert response.status_code == 302
    staff.refresh_from_db()
    assert not staff.must_change_password
    assert AuditEvent.objects.filter(action="auth.password_changed", actor=staff).exists()
    assert client.get("/admin/audits/auditevent/").status_code == 200


def test_group_permission_edits_are_superuser_only_and_audited(superuser, staff):
    group = Group.objects.create(name="suporte")
    assert signed_in(staff).get(f"/admin/auth/group/{group.pk}/change/").status_code == 403
    view_user = Permission.objects.get(codename="view_user")
    response = signed_in(superuser).post(f"/admin/auth/group/{group.pk}/change/",
                                         {"name": "suporte", "permissions": [view_user.pk]})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="group.changed")
    assert event.actor == superuser and event.details == {
        "name": {"before": "suporte", "after": "suporte"}, "permissions_added": ["accounts.view_user"],
        "permissions_removed": []}


def test_a_change_whose_event_cannot_be_written_is_not_saved(staff, owner, record_dies_at):
    record_dies_at(services, 1)
    with pytest.raises(RuntimeError):
        signed_in(staff).post(f"{USERS}{owner.pk}/change/", form_data(owner, groups=[role("compras").pk],
                                                                      must_change_password=True))
    owner.refresh_from_db()
    assert not owner.groups.exists() and not owner.must_change_password and not AuditEvent.objects.exists()


def test_only_a_superuser_ends_a_superusers_sessions(staff, superuser, owner, session_of):
    from tests.admin_actions import run_admin_action

    theirs, ordinary = session_of(superuser), session_of(owner)
    run_admin_action(signed_in(staff), "/admin/accounts/session/", "revoke_selected", [theirs.pk, ordinary.pk])
    theirs.refresh_from_db()
    ordinary.refresh_from_db()
    assert theirs.revoked_at is None and ordinary.revoked_at is not None
    run_admin_action(signed_in(superuser), "/admin/accounts/session/", "revoke_selected", [theirs.pk])
    theirs.refresh_from_db()
    assert theirs.revoked_at is not None
