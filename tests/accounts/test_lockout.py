"""Sign-in lockout (accounts/lockout.py): 5 password checks per account, and per address, in each window."""

from datetime import timedelta

import pytest
from django.core.management import call_command

from audits.models import AuditEvent
from tests.accounts.conftest import api_login, moved_clock
from tests.conftest import make_client
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
WRONG = "senha-errada-123"


def _fail(times, identifier, **extra):
    return [api_login(make_client(), identifier, WRONG, **extra).status_code for _ in range(times)]


def _failures():
    return AuditEvent.objects.filter(action="auth.login", status="failure").count()


def test_the_sixth_wrong_password_gets_429_with_retry_after(owner):
    assert _fail(5, owner.email) == [400] * 5
    response = api_login(make_client(), owner.email, WRONG)
    assert response.status_code == 429
    assert response.json() == {"detail": "Muitas tentativas de login. Tente novamente mais tarde.",
                                "code": "locked_out"}
    assert 890 <= int(response["Retry-After"]) <= 900
    # The right password does not help while locked out.
    assert api_login(make_client(), owner.email).status_code == 429


def test_the_lockout_ends_with_its_window_even_if_the_attacker_keeps_trying(owner):
    # Refused attempts check no password and cannot extend the lockout.
    _fail(5, owner.email)
    for minute in range(1, 15):
        with moved_clock(timedelta(minutes=minute)):
            response = api_login(make_client(), owner.email, WRONG)
            assert response.status_code == 429
            assert int(response["Retry-After"]) <= (15 - minute) * 60
    with moved_clock(timedelta(minutes=15, seconds=1)):
        assert api_login(make_client(), owner.email).status_code == 200


def test_failures_count_against_the_account_whatever_else_succeeds(owner):
    # The attack that beat django-axes' reset-on-success: 4 guesses at the victim, then a good
    # sign-in of the attacker's own account from the same address, over and over.
    attacker = UserFactory()
    assert _fail(4, owner.email, REMOTE_ADDR="203.0.113.7") == [400] * 4
    assert api_login(make_client(), attacker.email, REMOTE_ADDR="203.0.113.7").status_code == 200
    # The victim's fifth failure from a fresh address is checked; the sixth guess, from yet another
    # address, is refused: the account counted all five.
    assert _fail(1, owner.email, REMOTE_ADDR="198.51.100.1") == [400]
    assert api_login(make_client(), owner.email, REMOTE_ADDR="198.51.100.2").status_code == 429
    assert _failures() == 5


def test_the_address_is_not_reset_by_a_success_either(owner):
    attacker = UserFactory()
    statuses, own = [], []
    for _ in range(3):
        statuses += _fail(2, f"alvo{len(statuses)}@agepar.go.gov.br", REMOTE_ADDR="203.0.113.8")
        own.append(api_login(make_client(), attacker.email, REMOTE_ADDR="203.0.113.8").status_code)
    # Six guesses at other accounts from one address: the sixth is refused, successes in between or not;
    # once the address is locked, the attacker's own good password from it is refused as well.
    assert statuses == [400] * 5 + [429]
    assert own == [200, 200, 429]


@pytest.mark.parametrize("spellings", [
    ["52998224725"] * 5 + ["{email}"],
    ["529.982.247-25", "52998224725", "{email}", "{EMAIL}", " 529982247-25 ", "{email}"],
])
def test_every_identifier_of_one_person_shares_one_counter(owner, spellings):
    statuses = [api_login(make_client(), spelling.format(email=owner.email, EMAIL=owner.email.upper()), WRONG,
                          REMOTE_ADDR=f"198.51.100.{i}").status_code for i, spelling in enumerate(spellings)]
    assert statuses == [400] * 5 + [429]
    assert api_login(make_client(), owner.email, REMOTE_ADDR="198.51.100.99").status_code == 429


def test_the_same_identifier_from_other_addresses_stays_locked(owner):
    for i in range(5):
        api_login(make_client(), owner.cpf, WRONG, REMOTE_ADDR=f"198.51.100.{i}")
    # Written another way, from yet another address: still the same account.
    assert api_login(make_client(), "529.982.247-25", REMOTE_ADDR="203.0.113.1").status_code == 429


def test_one_address_trying_many_identifiers_is_locked_out(owner):
    for i in range(5):
        api_login(make_client(), f"alguem{i}@agepar.go.gov.br", WRONG, REMOTE_ADDR="203.0.113.9")
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.9").status_code == 429
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.10").status_code == 200


def _answer(response):
    return response.status_code, response.json(), response.get("Retry-After")


def test_unknown_identifiers_lock_out_the_same_way_and_answer_alike(owner):
    unknown = [api_login(make_client(), "ninguem@agepar.go.gov.br", WRONG, REMOTE_ADDR=f"198.51.100.{i}")
               for i in range(7)]
    known = [api_login(make_client(), owner.email, WRONG, REMOTE_ADDR=f"203.0.113.{i}") for i in range(7)]
    assert [_answer(r)[:2] for r in unknown] == [_answer(r)[:2] for r in known]
    assert [r.status_code for r in unknown] == [400] * 5 + [429] * 2
    assert set(unknown[0]) == set(known[0])  # the same headers
    # Other spellings of the unknown identifier share its counter, as they would for an account.
    assert api_login(make_client(), " NINGUEM@agepar.go.gov.br", WRONG).status_code == 429


def test_a_success_resets_the_account_count(owner):
    _fail(4, owner.email, REMOTE_ADDR="203.0.113.20")
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.21").status_code == 200
    assert _fail(4, owner.email, REMOTE_ADDR="203.0.113.22") == [400] * 4


def test_the_limit_and_window_come_from_settings(owner, settings):
    settings.LOGIN_FAILURE_LIMIT = 2
    settings.LOGIN_LOCKOUT_WINDOW = 60
    _fail(2, owner.email)
    response = api_login(make_client(), owner.email)
    assert response.status_code == 429 and int(response["Retry-After"]) <= 60


def test_refused_attempts_write_one_event_per_lock_and_window(owner):
    _fail(5, owner.email)
    refused = _fail(200, owner.email)
    assert refused == [429] * 200
    # The five checked failures stay individual events; the 200 refusals are one.
    assert _failures() == 5
    locked = AuditEvent.objects.get(action="auth.locked_out")
    assert locked.status == "failure" and locked.target_id == str(owner.pk)
    assert locked.details["identifier"] == owner.email
    assert locked.details["scope"] == "account" and locked.details["failures"] == 5
    assert locked.details["until"]
    with moved_clock(timedelta(minutes=15, seconds=1)):
        _fail(7, owner.email)
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 2
    assert _failures() == 10


def test_an_address_lock_is_one_event_too(db):
    for i in range(30):
        api_login(make_client(), f"spray{i}@agepar.go.gov.br", WRONG, REMOTE_ADDR="203.0.113.30")
    assert _failures() == 5
    locked = AuditEvent.objects.get(action="auth.locked_out")
    assert locked.details["scope"] == "address" and str(locked.ip) == "203.0.113.30"


def test_the_admin_login_shows_a_portuguese_lockout_page(owner, client):
    for _ in range(5):
        client.post("/admin/login/", {"username": owner.email, "password": WRONG})
    response = client.post("/admin/login/", {"username": owner.email, "password": WRONG})
    assert response.status_code == 429
    assert "Acesso bloqueado temporariamente" in response.content.decode()
    assert int(response["Retry-After"]) > 0


def test_the_admin_and_the_api_share_the_counter(owner, client):
    _fail(3, owner.email)
    for _ in range(2):
        assert client.post("/admin/login/", {"username": owner.cpf, "password": WRONG}).status_code == 200
    assert api_login(make_client(), owner.email).status_code == 429


def test_unlock_login_lifts_the_lock_and_is_audited(owner):
    _fail(5, owner.email, REMOTE_ADDR="203.0.113.40")
    call_command("unlock_login", owner.cpf, "--address", "203.0.113.40")
    assert api_login(make_client(), owner.email, REMOTE_ADDR="203.0.113.40").status_code == 200
    event = AuditEvent.objects.get(action="auth.lockout_lifted")
    assert event.target_id == str(owner.pk) and event.details["address"] == "203.0.113.40"
