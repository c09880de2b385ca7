"""Deactivation, role removal and must_change_password take effect on the very next request."""

import pytest
from django.contrib.auth.models import Group

from accounts.models import Session
from accounts.services import user_deactivate
from audits.models import AuditEvent

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.accounts.urls_roles")]


def test_a_deactivated_user_loses_access_on_the_next_request(owner, staff, signed_in):
    first, second = signed_in(owner), signed_in(owner)
    assert first.get("/api/me").status_code == 200
    assert user_deactivate(user=owner, actor=staff) is True
    assert first.get("/api/me").status_code == 401
    assert second.get("/api/me").status_code == 401
    assert not Session.objects.filter(user=owner, revoked_at__isnull=True).exists()
    assert set(Session.objects.filter(user=owner).values_list("revoked_by", "revoke_reason")) == {
        (staff.pk, "usuário desativado")}
    event = AuditEvent.objects.get(action="user.deactivated")
    assert event.actor == staff and event.details == {"sessions_revoked": 2}
    # Twice is a no-op.
    assert user_deactivate(user=owner, actor=staff) is False
    assert AuditEvent.objects.filter(action="user.deactivated").count() == 1


def test_inactive_users_are_refused_even_if_a_row_was_left_alive(owner, signed_in):
    # Deactivation through a bulk UPDATE (no service) must not leave a working session either.
    client = signed_in(owner)
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    assert client.get("/api/me").status_code == 401


def test_a_removed_role_stops_working_on_the_next_request(owner, signed_in):
    # The session's roles snapshot is for the record only.
    compras = Group.objects.get_or_create(name="compras")[0]
    owner.groups.add(compras)
    client = signed_in(owner)
    assert client.get("/api/test/compras").status_code == 200
    owner.groups.remove(compras)
    response = client.get("/api/test/compras")
    assert response.status_code == 403 and response.json()["code"] == "missing_role"
    assert Session.objects.get().roles == ["compras"]


def test_a_password_reset_elsewhere_ends_the_session(owner, signed_in):
    client = signed_in(owner)
    owner.set_password("outra-senha-bem-longa")
    owner.save()
    assert client.get("/api/me").status_code == 401


def test_must_change_password_gets_403_outside_me_and_auth(owner, signed_in):
    compras = Group.objects.get_or_create(name="compras")[0]
    owner.groups.add(compras)
    owner.must_change_password = True
    owner.save()
    client = signed_in(owner)
    response = client.get("/api/test/compras")
    assert response.status_code == 403
    assert response.json() == {"detail": "Troque sua senha antes de continuar.", "code": "password_change_required"}
    assert client.get("/api/me").json()["must_change_password"] is True
    assert client.get("/api/auth/sessions").status_code == 200
    assert client.post("/api/auth/change-password", {"current_password": "S3nha-de-teste-forte",
                                                      "new_password": "Outra-Senha-Forte-2026"},
                       format="json").status_code == 204
    assert client.get("/api/test/compras").status_code == 200
