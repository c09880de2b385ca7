"""POST /api/auth/login and /api/auth/logout, GET /api/me."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Session
from accounts.sessions import hash_key
from audits.models import AuditEvent
from tests.accounts.conftest import api_login, session_cookie
from tests.conftest import make_client
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_me_logout_and_the_old_cookie_is_dead(owner):
    owner.groups.add(Group.objects.get_or_create(name="compras")[0])
    client = make_client()
    response = api_login(client, owner.email)
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": owner.pk, "email": owner.email, "cpf": owner.cpf, "nome": "Ana Dona",
                            "roles": ["compras"], "is_staff": False, "must_change_password": False}
    assert body["session"]["current"] is True and body["session"]["revoked_at"] is None
    assert body["session"]["created_at"].endswith("Z") or body["session"]["created_at"].endswith("+00:00")
    cookie = session_cookie(client)

    assert client.get("/api/me").json()["email"] == owner.email
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/me").status_code == 401

    replay = make_client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get("/api/me").status_code == 401
    row = Session.objects.get(public_id=body["session"]["id"])
    assert row.revoked_at is not None and row.revoke_reason == "logout" and row.revoked_by == owner
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "status", "session_public_id"))
    assert actions == [("auth.login", "success", row.public_id), ("auth.logout", "success", row.public_id)]


def test_signing_in_reads_the_roles_once(owner):
    # The session row's roles snapshot and the answer's `roles` are the same read.
    owner.groups.add(Group.objects.get_or_create(name="compras")[0], Group.objects.get_or_create(name="rh")[0])
    client = make_client()
    with CaptureQueriesContext(connection) as queries:
        response = api_login(client, owner.email)
    assert response.json()["user"]["roles"] == ["compras", "rh"]
    assert Session.objects.get().roles == ["compras", "rh"]
    role_reads = [q["sql"] for q in queries.captured_queries if "auth_group" in q["sql"]]
    assert len(role_reads) == 1, role_reads


@pytest.mark.parametrize("identifier", ["529.982.247-25", "52998224725", " 529982247-25 ", "PESSOA-X@Agepar.GO.gov.br"])
def test_cpf_with_or_without_punctuation_or_email_in_any_case(identifier):
    UserFactory(email="pessoa-x@agepar.go.gov.br", cpf="52998224725")
    assert api_login(make_client(), identifier).status_code == 200


def test_the_session_key_rotates_at_login(owner):
    # Session fixation: a cookie planted before login is not the one after it.
    client = make_client()
    client.get("/api/auth/csrf")
    fixated = "a" * 32
    client.cookies[settings.SESSION_COOKIE_NAME] = fixated
    api_login(client, owner.email)
    assert session_cookie(client) != fixated
    before = session_cookie(client)
    api_login(client, owner.email)
    assert session_cookie(client) != before
    assert not Session.objects.filter(key_hash=hash_key(before), revoked_at__isnull=True).exists()


def test_no_response_or_log_line_contains_the_session_key(owner, capfd, caplog):
    # The session key never leaks, through the API; the admin pages are checked in test_admin_sessions.
    client = make_client()
    responses = [api_login(client, owner.email)]
    key = session_cookie(client)
    responses += [client.get("/api/me"), client.get("/api/auth/sessions"),
                  client.post("/api/auth/sessions/revoke-others"), client.post("/api/auth/logout")]
    for response in responses:
        assert key not in response.content.decode()
        assert key not in "".join(f"{k}: {v}" for k, v in response.items() if k != "Set-Cookie")
    out, err = capfd.readouterr()
    assert key not in out + err + caplog.text
    # Nor does the database hold it in clear.
    assert not Session.objects.filter(session_data__contains=key).exists()
    assert Session.objects.filter(key_hash=hash_key(key)).exists()
    assert not AuditEvent.objects.filter(details__icontains=key).exists()


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "inactive"])
def test_bad_credentials_all_look_the_same(case, owner):
    # Unknown identifier, wrong password or inactive account: one status, one body, whatever was wrong.
    if case == "inactive":
        owner.is_active = False
        owner.save()
    identifier = "ninguem@agepar.go.gov.br" if case == "unknown" else owner.email
    password = "errada-errada" if case == "wrong_password" else DEFAULT_PASSWORD
    response = api_login(make_client(), identifier, password)
    assert response.status_code == 400
    assert response.json() == {"detail": "Identificador ou senha inválidos.", "code": "invalid_credentials"}
    event = AuditEvent.objects.get(action="auth.login")
    assert event.status == "failure" and event.details == {"identifier": identifier}


@pytest.mark.parametrize("case", ["unknown", "wrong_password", "inactive"])
def test_every_bad_credential_costs_one_password_hash(case, owner, settings):
    # The same work for each case, so the answer time does not tell them apart either.
    from unittest import mock

    from django.contrib.auth import hashers
    if case == "inactive":
        owner.is_active = False
        owner.save()
    identifier = "ninguem@agepar.go.gov.br" if case == "unknown" else owner.email
    with mock.patch.object(hashers.MD5PasswordHasher, "encode", autospec=True,
                           side_effect=hashers.MD5PasswordHasher.encode) as encode:
        api_login(make_client(), identifier, "errada-errada" if case != "inactive" else DEFAULT_PASSWORD)
    assert encode.call_count == 1


def test_login_needs_the_csrf_token(owner):
    client = make_client()
    client.credentials()  # drops the X-CSRFToken header
    response = client.post("/api/auth/login", {"identifier": owner.email, "password": DEFAULT_PASSWORD},
                           format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert not Session.objects.exists()


def test_bad_login_input_is_a_400_and_writes_nothing():
    response = make_client().post("/api/auth/login", {"identifier": "", "password": 1}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"identifier"}
    assert not Session.objects.exists()


def test_session_row_records_user_ip_user_agent_and_roles(owner):
    owner.groups.add(Group.objects.get_or_create(name="rh")[0])
    api_login(make_client(), owner.email, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="198.51.100.7")
    row = Session.objects.get()
    assert (row.user, row.ip, row.user_agent, row.roles) == (owner, "198.51.100.7", "Firefox/140", ["rh"])


def test_client_ip_comes_from_x_forwarded_for_only_with_trusted_proxies(owner, settings):
    api_login(make_client(), owner.email, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6")
    settings.TRUSTED_PROXY_COUNT = 1
    api_login(make_client(), owner.email, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    assert list(Session.objects.order_by("id").values_list("ip", flat=True)) == ["10.0.0.1", "203.0.113.5"]


@pytest.mark.parametrize("persona", ["anon_client"])
def test_logout_and_me_need_a_session(request, persona):
    client = request.getfixturevalue(persona)
    assert client.get("/api/me").status_code == 401
    assert client.post("/api/auth/logout").status_code == 401


@pytest.mark.parametrize(("persona", "user"), [("owner_client", "owner"), ("other_client", "other_user"),
                                              ("staff_client", "staff")])
def test_me_is_the_caller_and_logout_ends_only_their_session(request, persona, user):
    client, user = request.getfixturevalue(persona), request.getfixturevalue(user)
    assert client.get("/api/me").json()["id"] == user.pk
    assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/me").status_code == 401
