"""The share items in the admin: browse, filter, search; expire and delete through the services."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from tests.admin_actions import run_admin_action
from tests.fileshare.helpers import blobs, upload

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:fileshare_fileshareitem_changelist")


@pytest.fixture
def items(owner_client):
    live = upload(owner_client, name="vivo.pdf").json()
    expired = upload(owner_client, name="velho.pdf").json()
    deleted = upload(owner_client, name="apagado.pdf").json()
    FileShareItem.objects.filter(pk=expired["id"]).update(expires_at=timezone.now())
    FileShareItem.objects.filter(pk=deleted["id"]).update(deleted_at=timezone.now())
    return {"live": live["id"], "expired": expired["id"], "deleted": deleted["id"]}


@pytest.mark.parametrize("status", ["live", "expired", "deleted"])
def test_status_filter(admin_client, items, status):
    response = admin_client.get(CHANGELIST, {"situacao": status})
    assert response.status_code == 200
    assert [obj.pk for obj in response.context["cl"].result_list] == [items[status]]


def test_search_by_name_prefix_and_owner_email(admin_client, items, owner):
    by_name = admin_client.get(CHANGELIST, {"q": "vel"}).context["cl"].result_list
    assert [obj.pk for obj in by_name] == [items["expired"]]
    assert len(admin_client.get(CHANGELIST, {"q": owner.email}).context["cl"].result_list) == 3


def test_change_page_is_read_only_and_hides_the_token_hash(admin_client, items):
    url = reverse("admin:fileshare_fileshareitem_change", args=[items["live"]])
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    item = FileShareItem.objects.get(pk=items["live"])
    assert item.token_hash not in html and "vivo.pdf" in html
    assert admin_client.post(url, {"original_name": "x"}).status_code == 403
    assert admin_client.get(reverse("admin:fileshare_fileshareitem_add")).status_code == 403


def test_expire_now_action(admin_client, items):
    response = run_admin_action(admin_client, CHANGELIST, "expire_now", [items["live"]], "link vazado")
    assert "1 arquivo(s) expirado(s)." in response.content.decode()
    assert FileShareItem.objects.get(pk=items["live"]).expires_at <= timezone.now()
    details = AuditEvent.objects.get(action="fileshare.expired").details
    assert (details["via"], details["reason"]) == ("admin", "link vazado")


def test_delete_action_removes_the_blob(admin_client, items, upload_root, django_capture_on_commit_callbacks):
    live = FileShareItem.objects.get(pk=items["live"])
    with django_capture_on_commit_callbacks(execute=True):
        run_admin_action(admin_client, CHANGELIST, "delete_items", [live.pk], "conteúdo indevido")
    live.refresh_from_db()
    assert live.deleted_at is not None and live.delete_reason == "admin"
    assert live.storage_name not in blobs(upload_root)
    assert AuditEvent.objects.get(action="fileshare.deleted").details["note"] == "conteúdo indevido"


def test_non_staff_cannot_open_the_changelist(client, owner):
    client.force_login(owner)
    assert client.get(CHANGELIST).status_code == 302
