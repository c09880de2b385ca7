"""GET /api/auth/sessions, POST /api/auth/sessions/{id}/revoke, POST /api/auth/sessions/revoke-others."""

import uuid

import pytest

from accounts.models import Session
from audits.models import AuditEvent

pytestmark = pytest.mark.django_db


def _ids(client):
    return [row["id"] for row in client.get("/api/auth/sessions").json()["results"]]


def test_the_list_shows_own_sessions_newest_first_with_the_current_one_marked(owner, other_user, signed_in):
    laptop, phone = signed_in(owner), signed_in(owner, HTTP_USER_AGENT="Phone/1")
    signed_in(other_user)
    body = phone.get("/api/auth/sessions").json()
    rows = body["results"]
    assert [row["current"] for row in rows] == [True, False]
    assert rows[0]["user_agent"] == "Phone/1"
    assert set(rows[0]) == {"id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current",
                            "revoked_at"}
    assert [row["current"] for row in laptop.get("/api/auth/sessions").json()["results"]] == [False, True]
    assert body["next"] is None and body["previous"] is None


def test_revoking_one_session_kills_it_and_spares_the_other(owner, signed_in):
    laptop, phone = signed_in(owner), signed_in(owner)
    phone_id = _ids(phone)[0]
    assert laptop.post(f"/api/auth/sessions/{phone_id}/revoke").status_code == 204
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 200
    # Idempotent, and audited once.
    assert laptop.post(f"/api/auth/sessions/{phone_id}/revoke").status_code == 204
    event = AuditEvent.objects.get(action="auth.session_revoked")
    assert event.actor == owner and event.target_id == phone_id
    assert event.details["reason"] == "revogada pelo titular"
    row = Session.objects.get(public_id=phone_id)
    assert row.revoked_by == owner


def test_another_users_session_is_not_found(owner, other_user, signed_in):
    mine, theirs = signed_in(owner), signed_in(other_user)
    their_id = _ids(theirs)[0]
    assert mine.post(f"/api/auth/sessions/{their_id}/revoke").status_code == 404
    assert mine.post(f"/api/auth/sessions/{uuid.uuid4()}/revoke").status_code == 404
    assert theirs.get("/api/me").status_code == 200
    assert their_id not in _ids(mine)


def test_revoke_others_keeps_only_the_current_session(owner, other_user, signed_in):
    first, second, third = signed_in(owner), signed_in(owner), signed_in(owner)
    bystander = signed_in(other_user)
    assert second.post("/api/auth/sessions/revoke-others").status_code == 204
    assert [c.get("/api/me").status_code for c in (first, second, third, bystander)] == [401, 200, 401, 200]
    assert AuditEvent.objects.filter(action="auth.session_revoked").count() == 2


def test_revoking_the_current_session_signs_out(owner, signed_in):
    client = signed_in(owner)
    assert client.post(f"/api/auth/sessions/{_ids(client)[0]}/revoke").status_code == 204
    assert client.get("/api/me").status_code == 401


@pytest.mark.parametrize("persona", ["owner_client", "other_client", "staff_client"])
def test_every_persona_sees_only_their_own_sessions(request, persona, owner, other_user, staff):
    client = request.getfixturevalue(persona)
    assert len(_ids(client)) == 1
    # Staff get no special view here: everyone's sessions are in the admin.
    assert client.post("/api/auth/sessions/revoke-others").status_code == 204


def test_anonymous_gets_401(anon_client, owner, signed_in):
    public_id = _ids(signed_in(owner))[0]
    assert anon_client.get("/api/auth/sessions").status_code == 401
    assert anon_client.post(f"/api/auth/sessions/{public_id}/revoke").status_code == 401
    assert anon_client.post("/api/auth/sessions/revoke-others").status_code == 401
    assert Session.objects.get(public_id=public_id).revoked_at is None


def test_the_list_pages_with_a_cursor(owner, signed_in):
    clients = [signed_in(owner) for _ in range(3)]
    page = clients[0].get("/api/auth/sessions", {"page_size": 2}).json()
    assert len(page["results"]) == 2 and page["next"]
    rest = clients[0].get(page["next"]).json()
    assert len(rest["results"]) == 1
