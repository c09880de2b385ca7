"""Owner API: list, detail, delete, owner download and link rotation, for every persona."""

import pytest
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from tests.fileshare.helpers import ITEMS_URL, PDF, blobs, public_path, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(owner_client):
    response = upload(owner_client, PDF, "contrato.pdf")
    assert response.status_code == 201
    return response.json()


def test_list_shows_own_live_items_newest_first(owner_client, other_client, shared):
    second = upload(owner_client, PDF, "segundo.pdf").json()
    expired = upload(owner_client).json()
    FileShareItem.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())
    upload(other_client, PDF, "alheio.pdf")
    body = owner_client.get(ITEMS_URL).json()
    assert [row["id"] for row in body["results"]] == [second["id"], shared["id"]]
    assert "link" not in body["results"][0]
    assert body["results"][0]["owner"]["nome"] == "Ana Dona"


def test_list_pages_with_a_cursor(owner_client):
    ids = [upload(owner_client).json()["id"] for _ in range(3)]
    first = owner_client.get(ITEMS_URL, {"page_size": 2}).json()
    assert [row["id"] for row in first["results"]] == ids[:0:-1]
    rest = owner_client.get(first["next"]).json()
    assert [row["id"] for row in rest["results"]] == [ids[0]] and rest["next"] is None


def test_scope_all_is_for_admins_only(owner_client, other_client, staff_client, shared):
    upload(other_client)
    assert owner_client.get(ITEMS_URL, {"scope": "all"}).status_code == 403
    assert len(staff_client.get(ITEMS_URL, {"scope": "all"}).json()["results"]) == 2
    assert staff_client.get(ITEMS_URL).json()["results"] == []
    assert owner_client.get(ITEMS_URL, {"scope": "todos"}).status_code == 400


def test_list_needs_a_session(anon_client):
    assert anon_client.get(ITEMS_URL).status_code == 401


@pytest.mark.parametrize(("persona", "expected"), [("owner_client", 200), ("other_client", 404),
                                                   ("staff_client", 200), ("anon_client", 401)])
def test_detail_authorization(request, shared, persona, expected):
    client = request.getfixturevalue(persona)
    response = client.get(f"{ITEMS_URL}/{shared['id']}")
    assert response.status_code == expected
    if expected == 200:
        assert response.json()["sha256"] == shared["sha256"]


@pytest.mark.parametrize(("persona", "expected"), [("owner_client", 204), ("other_client", 404),
                                                   ("staff_client", 204), ("anon_client", 401)])
def test_delete_authorization(request, shared, persona, expected, upload_root, django_capture_on_commit_callbacks):
    client = request.getfixturevalue(persona)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"{ITEMS_URL}/{shared['id']}").status_code == expected
    item = FileShareItem.objects.get(pk=shared["id"])
    assert (item.deleted_at is not None) == (expected == 204)
    assert (blobs(upload_root) == []) == (expected == 204)


def test_delete_keeps_the_row_removes_the_blob_and_kills_the_link(owner_client, owner, shared, upload_root,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(f"{ITEMS_URL}/{shared['id']}").status_code == 204
    item = FileShareItem.objects.get(pk=shared["id"])
    assert item.deleted_by_id == owner.pk and item.delete_reason == "owner"
    assert blobs(upload_root) == []
    assert owner_client.get(public_path(shared["link"])).status_code == 410
    assert owner_client.get(public_path(shared["link"]) + "/download").status_code == 410
    assert owner_client.get(f"{ITEMS_URL}/{shared['id']}").status_code == 404
    assert owner_client.delete(f"{ITEMS_URL}/{shared['id']}").status_code == 404
    assert AuditEvent.objects.filter(action="fileshare.deleted", target_id=str(item.pk)).count() == 1


def test_staff_delete_is_recorded_as_admin(staff_client, staff, shared):
    staff_client.delete(f"{ITEMS_URL}/{shared['id']}")
    assert FileShareItem.objects.get(pk=shared["id"]).delete_reason == "admin"


@pytest.mark.parametrize(("persona", "expected"), [("owner_client", 200), ("other_client", 404),
                                                   ("staff_client", 404), ("anon_client", 401)])
def test_owner_download_authorization(request, shared, persona, expected):
    client = request.getfixturevalue(persona)
    assert client.get(f"{ITEMS_URL}/{shared['id']}/download").status_code == expected


def test_owner_download_returns_the_bytes_without_counting(owner_client, shared):
    response = owner_client.get(f"{ITEMS_URL}/{shared['id']}/download")
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"] == 'attachment; filename="contrato.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert FileShareItem.objects.get(pk=shared["id"]).downloads == 0
    event = AuditEvent.objects.get(action="fileshare.downloaded")
    assert event.details["via"] == "owner"


def test_owner_download_of_an_expired_item_is_410(owner_client, shared):
    FileShareItem.objects.filter(pk=shared["id"]).update(expires_at=timezone.now())
    assert owner_client.get(f"{ITEMS_URL}/{shared['id']}/download").status_code == 410


@pytest.mark.parametrize(("persona", "expected"), [("owner_client", 200), ("other_client", 404),
                                                   ("staff_client", 404), ("anon_client", 401)])
def test_rotate_link_authorization(request, shared, persona, expected):
    client = request.getfixturevalue(persona)
    assert client.post(f"{ITEMS_URL}/{shared['id']}/link").status_code == expected


def test_rotating_the_link_kills_the_old_token(owner_client, anon_client, shared):
    response = owner_client.post(f"{ITEMS_URL}/{shared['id']}/link")
    new_link = response.json()["link"]
    assert new_link != shared["link"] and new_link.startswith("http://testserver/s/")
    # The old link was revoked (API.md: 410), not forgotten: an unknown token stays 404.
    assert anon_client.get(public_path(shared["link"])).status_code == 410
    assert anon_client.get(public_path(shared["link"]) + "/download").status_code == 410
    assert anon_client.get(public_path(new_link)).status_code == 200
    assert AuditEvent.objects.filter(action="fileshare.link_rotated").count() == 1
    owner_client.post(f"{ITEMS_URL}/{shared['id']}/link")
    assert anon_client.get(public_path(new_link)).status_code == 410


def test_rotating_an_expired_item_is_410(owner_client, shared):
    FileShareItem.objects.filter(pk=shared["id"]).update(expires_at=timezone.now())
    response = owner_client.post(f"{ITEMS_URL}/{shared['id']}/link")
    assert response.status_code == 410 and response.json()["code"] == "gone"
