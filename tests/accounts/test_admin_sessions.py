"""The admin screens for users and sessions (pt-BR), and that they never show a session key."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.models import Session
from audits.models import AuditEvent
from tests.accounts.conftest import session_cookie
from tests.admin_actions import run_admin_action

pytestmark = pytest.mark.django_db
SESSIONS = "/admin/accounts/session/"
USERS = "/admin/accounts/user/"


@pytest.fixture
def two_sessions(owner, signed_in):
    laptop = signed_in(owner, HTTP_USER_AGENT="Laptop/1", REMOTE_ADDR="198.51.100.1")
    phone = signed_in(owner, HTTP_USER_AGENT="Phone/1", REMOTE_ADDR="198.51.100.2")
    return laptop, phone


def test_revoking_from_the_admin_kills_that_session_only(admin_client, staff, two_sessions):
    # Revoked through the admin action, recording who revoked and why.
    laptop, phone = two_sessions
    phone_row = Session.objects.get(user_agent="Phone/1")
    response = run_admin_action(admin_client, SESSIONS, "revoke_selected", [phone_row.pk], "celular perdido")
    assert response.status_code == 200
    assert "1 sessão(ões) revogada(s)." in response.content.decode()
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 200
    phone_row.refresh_from_db()
    assert (phone_row.revoked_by, phone_row.revoke_reason) == (staff, "celular perdido")
    event = AuditEvent.objects.get(action="auth.session_revoked")
    assert event.actor == staff and event.details["reason"] == "celular perdido"
    assert event.target_id == str(phone_row.public_id)


def test_admin_pages_never_show_a_session_key(admin_client, owner, two_sessions):
    keys = [session_cookie(c) for c in two_sessions] + [admin_client.cookies[settings.SESSION_COOKIE_NAME].value]
    rows = list(Session.objects.all())
    pages = [admin_client.get(SESSIONS), admin_client.get(f"{SESSIONS}?situacao=active"),
             admin_client.get(f"{USERS}{owner.pk}/change/"), admin_client.get(USERS)]
    pages += [admin_client.get(f"{SESSIONS}{row.pk}/change/") for row in rows]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        for key in keys:
            assert key not in html
        for row in rows:
            assert row.key_hash not in html
    assert str(rows[0].public_id) in pages[0].content.decode()


def test_the_changelist_columns_filters_and_search(admin_client, owner, other_user, two_sessions, signed_in):
    signed_in(other_user, REMOTE_ADDR="203.0.113.50")
    Session.objects.filter(user_agent="Laptop/1").update(revoke_reason="x", revoked_at="2026-01-01T00:00:00Z")
    html = admin_client.get(SESSIONS).content.decode().lower()
    for header in ("usuário", "ip", "navegador", "último acesso", "expira em", "situação"):
        assert header in html

    def listed(query):
        response = admin_client.get(SESSIONS, query)
        assert response.status_code == 200
        return set(response.context["cl"].result_list.values_list("user_agent", flat=True))

    assert listed({"situacao": "revoked"}) == {"Laptop/1"}
    assert "Phone/1" in listed({"situacao": "active"}) and "Laptop/1" not in listed({"situacao": "active"})
    assert listed({"situacao": "expired"}) == set()
    assert listed({"usuario": owner.pk}) == {"Laptop/1", "Phone/1"}
    assert listed({"q": owner.email[:8].upper()}) >= {"Laptop/1", "Phone/1"}
    assert listed({"q": "529.982"}) == {"Laptop/1", "Phone/1"}
    assert listed({"q": "203.0.113.50"}) == {""}
    assert listed({"q": "198.51.100.2"}) == {"Phone/1"}


def test_sessions_are_read_only(admin_client, two_sessions):
    row = Session.objects.filter(user__isnull=False).first()
    assert admin_client.get(f"{SESSIONS}add/").status_code == 403
    assert admin_client.post(f"{SESSIONS}{row.pk}/change/", {"revoke_reason": "x"}).status_code == 403
    assert admin_client.post(f"{SESSIONS}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Session.objects.filter(pk=row.pk, revoke_reason="").exists()


def test_non_staff_cannot_reach_the_admin(client, owner):
    client.force_login(owner)
    assert client.get(SESSIONS).status_code == 302


def test_users_list_shows_roles_and_searches_by_cpf_and_email(admin_client, owner, other_user):
    owner.groups.add(Group.objects.get_or_create(name="compras")[0])
    response = admin_client.get(USERS, {"q": "529.982.247"})
    assert list(response.context["cl"].result_list) == [owner]
    assert "compras" in response.content.decode()
    assert list(admin_client.get(USERS, {"q": other_user.email[:9]}).context["cl"].result_list) == [other_user]


def test_revoke_all_sessions_of_selected_users(admin_client, staff, owner, other_user, two_sessions, signed_in):
    bystander = signed_in(other_user)
    response = run_admin_action(admin_client, USERS, "revoke_all_sessions", [owner.pk], "notebook roubado")
    assert "2 sessão(ões) revogada(s)." in response.content.decode()
    assert [c.get("/api/me").status_code for c in two_sessions] == [401, 401]
    assert bystander.get("/api/me").status_code == 200
    assert set(Session.objects.filter(user=owner).values_list("revoke_reason", flat=True)) == {"notebook roubado"}


def test_deactivating_in_the_user_form_revokes_the_sessions(admin_client, staff, owner, two_sessions):
    response = admin_client.post(f"{USERS}{owner.pk}/change/", {
        "email": owner.email, "nome": owner.nome, "cpf": owner.cpf, "groups": [], "reason": "saiu da agência",
        # is_active left unchecked: the admin deactivates the user.
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    owner.refresh_from_db()
    assert owner.is_active is False
    assert [c.get("/api/me").status_code for c in two_sessions] == [401, 401]
    event = AuditEvent.objects.get(action="user.changed")
    assert event.actor == staff
    assert event.details == {"fields": ["is_active"], "changes": {"is_active": {"before": True, "after": False}},
                             "sessions_revoked": 2, "reason": "saiu da agência"}
