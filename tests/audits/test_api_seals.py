"""GET /api/audits/seals/latest: the latest seal of the trail, for auditors (oversight roles only)."""

import pytest

from audits.encoding import instant
from audits.models import AuditEvent, AuditSeal
from audits.seals import seal_audits
from audits.services import record
from tests.conftest import make_client
from tests.factories import UserFactory

URL = "/api/audits/seals/latest"
pytestmark = pytest.mark.django_db


def test_anonymous_gets_401(anon_client):
    assert anon_client.get(URL).status_code == 401


@pytest.mark.parametrize("persona", ["owner_client", "other_client"])
def test_a_plain_user_gets_403(request, persona):
    record("auth.login", kind="auth")
    seal_audits()
    response = request.getfixturevalue(persona).get(URL)
    assert response.status_code == 403 and response.json()["code"] == "missing_role"


def test_before_any_seal_it_answers_404(auditor_client):
    response = auditor_client.get(URL)
    assert response.status_code == 404
    assert response.json() == {"detail": "A trilha de auditoria ainda não foi selada.", "code": "not_found"}


@pytest.mark.parametrize("role", ["admin", "auditor", "controle"])
def test_oversight_roles_read_the_latest_seal(role):
    events = [record("auth.login", kind="auth") for _ in range(3)]
    seal_audits(max_events=2)
    latest = AuditSeal.objects.get(number=2)
    response = make_client(UserFactory(roles=[role])).get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"seal", "version", "first_id", "last_id", "count", "last_at", "root", "prev", "hash",
                         "event_id", "sealed_at"}
    assert body["seal"] == 2 and body["version"] == 1
    assert (body["first_id"], body["last_id"], body["count"]) == (events[1].pk + 1, events[2].pk, 1)
    assert (body["root"], body["prev"], body["hash"]) == (latest.root, latest.prev, latest.hash)
    assert body["last_at"] == instant(latest.last_at)
    assert body["event_id"] == latest.event_id
    assert "no-store" in response["Cache-Control"]


def test_seal_events_are_listed_like_any_other(auditor_client):
    record("auth.login", kind="auth")
    [seal] = seal_audits()
    rows = auditor_client.get("/api/audits?action=audit.sealed").json()["results"]
    assert [row["id"] for row in rows] == [seal.event_id]
    assert rows[0]["details"]["hash"] == seal.hash and rows[0]["target_type"] == "audits.auditseal"
    assert AuditEvent.objects.get(pk=seal.event_id).target_id == "1"
