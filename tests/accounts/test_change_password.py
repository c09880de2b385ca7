"""POST /api/auth/change-password."""

from datetime import timedelta

import pytest

from accounts.models import Session
from audits.models import AuditEvent
from tests.accounts.conftest import api_login, moved_clock
from tests.conftest import make_client
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
URL = "/api/auth/change-password"
NEW = "Nova-Senha-Bem-Forte-2026"


def _change(client, new=NEW, current=DEFAULT_PASSWORD):
    return client.post(URL, {"current_password": current, "new_password": new}, format="json")


def test_keeps_this_session_and_kills_the_others(owner, signed_in):
    here, elsewhere = signed_in(owner), signed_in(owner)
    here_id = next(r["id"] for r in here.get("/api/auth/sessions").json()["results"] if r["current"])
    owner.must_change_password = True
    owner.save()
    assert _change(here).status_code == 204
    assert here.get("/api/me").status_code == 200
    assert next(r["id"] for r in here.get("/api/auth/sessions").json()["results"] if r["current"]) == here_id
    assert elsewhere.get("/api/me").status_code == 401
    owner.refresh_from_db()
    assert owner.check_password(NEW) and not owner.must_change_password
    assert api_login(make_client(), owner.email, NEW).status_code == 200
    assert api_login(make_client(), owner.email, DEFAULT_PASSWORD).status_code == 400
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.details == {"sessions_revoked": 1}
    assert NEW not in str(AuditEvent.objects.values_list("details", flat=True))


@pytest.mark.parametrize(("new", "fragment"), [
    ("Minha-senha-comprida-52998224725-ok", "CPF"),
    ("Minha-senha-comprida-529.982.247-25", "CPF"),
    ("{email}-Senha-Longa-1", "e-mail"),
    ("X-{local}-Senha-Muito-Longa-1", "e-mail"),
    ("Senha-Longa-da-DONA-1234", "nome"),
    ("curta1", None),
])
def test_the_policy_rejects_personal_data_and_weak_passwords(owner, signed_in, new, fragment):
    client = signed_in(owner)
    new = new.format(email=owner.email, local=owner.email.split("@")[0])
    response = _change(client, new)
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {"new_password"}
    if fragment:
        assert any(fragment in message for message in body["errors"]["new_password"])
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)
    assert Session.objects.filter(revoked_at__isnull=True).count() == 1


def test_a_wrong_current_password_changes_nothing(owner, signed_in):
    here, elsewhere = signed_in(owner), signed_in(owner)
    response = _change(here, current="nao-e-esta")
    assert response.status_code == 400 and set(response.json()["errors"]) == {"current_password"}
    assert elsewhere.get("/api/me").status_code == 200


def test_anonymous_gets_401(anon_client):
    assert _change(anon_client).status_code == 401


@pytest.mark.parametrize(("persona", "user"), [("owner_client", "owner"), ("other_client", "other_user"),
                                              ("staff_client", "staff")])
def test_each_persona_changes_only_their_own_password(request, persona, user, owner, other_user, staff):
    client, who = request.getfixturevalue(persona), request.getfixturevalue(user)
    assert _change(client).status_code == 204
    for person in (owner, other_user, staff):
        person.refresh_from_db()
        assert person.check_password(NEW) is (person == who)


def test_refuses_the_current_password_as_the_new_one(owner, signed_in):
    # Otherwise "changing" to the same password would lift must_change_password.
    here, elsewhere = signed_in(owner), signed_in(owner)
    owner.must_change_password = True
    owner.save()
    response = _change(here, new=DEFAULT_PASSWORD)
    assert response.status_code == 400
    assert response.json()["errors"] == {"new_password": ["A nova senha deve ser diferente da atual."]}
    owner.refresh_from_db()
    assert owner.must_change_password
    assert elsewhere.get("/api/me").status_code == 200
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_wrong_current_passwords_are_throttled_and_audited(owner, signed_in):
    client = signed_in(owner)
    assert [_change(client, current=f"chute-{i}").status_code for i in range(5)] == [400] * 5
    response = _change(client)  # the right one, too late
    assert response.status_code == 429 and response.json()["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)
    failures = AuditEvent.objects.filter(action="auth.password_changed", status="failure")
    assert failures.count() == 5
    assert set(failures.values_list("details__reason", flat=True)) == {"wrong_password"}
    assert AuditEvent.objects.filter(action="auth.locked_out", target_id=str(owner.pk)).count() == 1


def test_change_password_guesses_and_sign_in_guesses_share_one_allowance(owner, signed_in):
    client = signed_in(owner)
    assert [_change(client, current=f"chute-{i}").status_code for i in range(3)] == [400] * 3
    assert [api_login(make_client(), owner.email, "chute-x", REMOTE_ADDR=f"198.51.100.{i}").status_code
            for i in range(3)] == [400, 400, 429]


def test_the_change_password_throttle_keeps_its_window(owner, signed_in, settings, counter_store):
    # The window opens at the first failure, lasts LOGIN_LOCKOUT_WINDOW and later (refused) attempts
    # never extend it; in the database and in Redis alike.
    settings.LOGIN_LOCKOUT_WINDOW = 600
    client = signed_in(owner)
    assert [_change(client, current=f"chute-{i}").status_code for i in range(5)] == [400] * 5
    if counter_store == "redis":
        from tests.redis_server import client as redis

        key = f"agepar:counter:login:account:{owner.pk}"
        first_ttl = redis().pttl(key)
        assert 590_000 < first_ttl <= 600_000
        for _ in range(3):
            assert _change(client, current="chute").status_code == 429
        assert redis().pttl(key) <= first_ttl
        assert int(_change(client)["Retry-After"]) <= 600
        return
    with moved_clock(timedelta(seconds=400)):
        for _ in range(3):
            assert _change(client, current="chute").status_code == 429
        assert int(_change(client)["Retry-After"]) == 200
    with moved_clock(timedelta(seconds=601)):
        assert _change(client).status_code == 204
    owner.refresh_from_db()
    assert owner.check_password(NEW)
