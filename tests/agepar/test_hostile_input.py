"""Issue 14 item 5: hostile input the parsers and filters must refuse with a 4xx, nothing written.

Deeply nested JSON (RecursionError in the decoder), a lone surrogate in a submission payload (a str
the renderer cannot encode) and a NUL byte in an admin filter (PostgreSQL refuses it in a text
parameter) each answered 500.
"""

import pytest

from audits.models import AuditEvent
from submissions.models import Submission
from tests.conftest import make_client
from tests.factories import UserFactory

DEEP = "[" * 5000


def _counts():
    return AuditEvent.objects.count(), Submission.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/auth/login", "/api/auth/change-password", "/api/submissions",
                                 "/api/auth/logout"])
def test_deeply_nested_json_is_a_400_parse_error(url):
    user = UserFactory(roles=["automations.form2json"])
    for client in (make_client(), make_client(user)):
        before = _counts()
        response = client.post(url, DEEP, content_type="application/json")
        if response.status_code in (401, 403):
            # an anonymous client on a signed-in endpoint is refused before the body is read
            assert response.json()["code"] == "not_authenticated"
            continue
        assert response.status_code == 400, response.content[:200]
        assert response.json()["code"] == "parse_error"
        assert response.json()["detail"]
        assert _counts() == before


@pytest.mark.django_db
def test_nesting_within_the_bound_still_parses():
    # A legitimate, moderately nested body is read (and refused by validation, not by the parser).
    user = UserFactory(roles=["automations.form2json"])
    body = '{"kind": "form2json", "payload": ' + "[" * 50 + "]" * 50 + "}"
    response = make_client(user).post("/api/submissions", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] != "parse_error"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    '{"kind": "form2json", "payload": {"nome": "\\ud800"}}',
    '{"kind": "form2json", "payload": {"\\ud800": "x"}}',
    '{"kind": "form2json\\udfff", "payload": {}}',
    '{"kind": "form2json", "payload": {"itens": [{"descricao": "a\\ud800b", "quantidade": 1}]}}',
])
def test_a_lone_surrogate_is_a_400_parse_error(body):
    user = UserFactory(roles=["automations.form2json"])
    client = make_client(user)
    before = _counts()
    response = client.post("/api/submissions", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["code"] == "parse_error"
    assert "\ud800" not in response.json()["detail"]
    assert _counts() == before


@pytest.mark.django_db
def test_a_lone_surrogate_on_login_is_a_400():
    before = _counts()
    response = make_client().post("/api/auth/login", '{"identifier": "\\ud800", "password": "x"}',
                                  content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/admin/audits/auditevent/?kind=a%00b",
    "/admin/audits/auditevent/?action=a%00b",
    "/admin/audits/auditevent/?status=a%00b",
    "/admin/audits/auditevent/?target=a%00b",
    "/admin/audits/auditevent/?q=a%00b",
    "/admin/submissions/submission/?kind=a%00b",
    "/admin/submissions/submission/?status=a%00b",
    "/admin/submissions/submission/?q=a%00b",
    "/admin/accounts/user/?q=a%00b",
    "/admin/accounts/session/?q=a%00b",
    "/admin/fileshare/fileshareitem/?q=a%00b",
])
def test_a_nul_byte_in_an_admin_filter_is_not_a_500(client, superuser, url):
    client.force_login(superuser)
    before = _counts()
    response = client.get(url)
    assert response.status_code == 400, response.status_code
    assert _counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/audits?kind=a%00b", "/api/submissions?status=a%00b",
                                 "/api/submissions?cursor=a%00b", "/api/fileshare/items?a%00b=1"])
def test_a_nul_byte_in_an_api_parameter_is_a_json_400(superuser, url):
    before = _counts()
    response = make_client(superuser).get(url)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"
    assert _counts() == before


@pytest.mark.django_db
def test_an_integer_past_64_bits_is_left_to_the_validators():
    # Valid JSON that orjson cannot write: the field's validator answers, not the parser.
    user = UserFactory(roles=["automations.form2json"])
    body = '{"kind": "form2json", "payload": {"nome": ' + "9" * 40 + "}}"
    response = make_client(user).post("/api/submissions", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] != "parse_error"
    assert Submission.objects.count() == 0
