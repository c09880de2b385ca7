"""Lockout of POST /api/auth/login (django-axes): 5 failures in the window, by identifier and by IP."""

from datetime import timedelta

import pytest

from audits.models import AuditEvent
from tests.accounts.conftest import api_login, moved_clock
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
WRONG = "senha-errada-123"


def _fail(times, identifier, **extra):
    return [api_login(make_client(), identifier, WRONG, **extra).status_code for _ in range(times)]


def test_the_sixth_wrong_password_gets_429_with_retry_after(owner):
    # Must show 6 (first part).
    assert _fail(5, owner.email) == [400] * 5
    response = api_login(make_client(), owner.email, WRONG)
    assert response.status_code == 429
    assert response.json() == {"detail": "Muitas tentativas de login. Tente novamente mais tarde.",
                                "code": "locked_out"}
    assert 890 <= int(response["Retry-After"]) <= 900
    # The right password does not help while locked out.
    assert api_login(make_client(), owner.email).status_code == 429
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1
    assert AuditEvent.objects.filter(action="auth.login", status="failure", details__reason="locked_out").count() == 2


def test_the_lockout_ends_with_its_window_even_if_the_attacker_keeps_trying(owner):
    # Must show 6 (second part): refused attempts are not counted, so they cannot extend the lockout.
    _fail(5, owner.email)
    for minute in range(1, 15):
        with moved_clock(timedelta(minutes=minute)):
            response = api_login(make_client(), owner.email, WRONG)
            assert response.status_code == 429
            assert int(response["Retry-After"]) <= (15 - minute) * 60
    with moved_clock(timedelta(minutes=15, seconds=1)):
        assert api_login(make_client(), owner.email).status_code == 200


def test_the_same_identifier_from_other_addresses_stays_locked(owner):
    for i in range(5):
        api_login(make_client(), owner.cpf, WRONG, REMOTE_ADDR=f"198.51.100.{i}")
    # Written another way, from yet another address: still the same identifier.
    assert api_login(make_client(), "529.982.247-25", REMOTE_ADDR="203.0.113.1").status_code == 429


def test_one_address_trying_many_identifiers_is_locked_out(owner):
    for i in range(5):
        api_login(make_client(), f"alguem{i}@agepar.go.gov.br", WRONG, REMOTE_ADDR="203.0.113.9")
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.10").status_code == 200


def test_unknown_identifiers_lock_out_the_same_way(db):
    # No difference between an account that exists and one that does not.
    assert _fail(5, "ninguem@agepar.go.gov.br") == [400] * 5
    assert api_login(make_client(), "ninguem@agepar.go.gov.br", WRONG).status_code == 429


def test_a_success_resets_the_count(owner):
    _fail(4, owner.email)
    assert api_login(make_client(), owner.email).status_code == 200
    assert _fail(4, owner.email) == [400] * 4


def test_the_limit_and_window_come_from_settings(owner, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    _fail(2, owner.email)
    response = api_login(make_client(), owner.email)
    assert response.status_code == 429 and int(response["Retry-After"]) <= 60


def test_the_admin_login_shows_a_portuguese_lockout_page(owner, client):
    for _ in range(5):
        client.post("/admin/login/", {"username": owner.email, "password": WRONG})
    response = client.post("/admin/login/", {"username": owner.email, "password": WRONG})
    assert response.status_code == 429
    assert "Acesso bloqueado temporariamente" in response.content.decode()
    assert int(response["Retry-After"]) > 0
