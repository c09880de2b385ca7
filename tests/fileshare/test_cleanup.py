"""manage.py cleanup_fileshare: expired items and orphans go, live items stay, two runs at once are fine."""

import io
import os
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from tests.fileshare.helpers import blobs, upload


def make_items(client, count):
    return [FileShareItem.objects.get(pk=upload(client).json()["id"]) for _ in range(count)]


def make_orphan(root, name, *, age):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"left by a crash between write and commit")
    stamp = time.time() - age.total_seconds()
    os.utime(path, (stamp, stamp))
    return name


def run(*args):
    out = io.StringIO()
    call_command("cleanup_fileshare", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db(transaction=True)  # blobs go when their batch commits: real commits
def test_cleanup_removes_expired_blobs_and_old_orphans_and_keeps_live_items(owner_client, upload_root, settings):
    live, expired, gone = make_items(owner_client, 3)
    FileShareItem.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    FileShareItem.objects.filter(pk=gone.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    # Its blob survived the delete (say the storage was down): an orphan like any other.
    make_orphan(upload_root, gone.storage_name, age=timedelta(hours=2))
    old_orphan = make_orphan(upload_root, "2020/01/" + "a" * 32, age=timedelta(hours=2))
    young_orphan = make_orphan(upload_root, "2026/01/" + "b" * 32, age=timedelta(minutes=5))
    foreign = make_orphan(upload_root, "2020/01/not-ours.txt", age=timedelta(days=9))

    output = run("--batch", "1")

    assert "expired=1 orphans=2 purged=1" in output  # the old orphan and the deleted item's leftover blob
    assert sorted(blobs(upload_root)) == sorted([live.storage_name, young_orphan, foreign])
    assert old_orphan not in blobs(upload_root)
    expired.refresh_from_db()
    assert expired.deleted_at is not None and expired.delete_reason == "expired"
    assert not FileShareItem.objects.filter(pk=gone.pk).exists()
    assert FileShareItem.objects.get(pk=live.pk).deleted_at is None
    # One event per batch (of one, here), committed with it.
    events = list(AuditEvent.objects.filter(action="fileshare.cleanup").order_by("id"))
    assert [e.details for e in events] == [
        {"step": "expired", "count": 1, "items": [expired.pk]},
        {"step": "orphans", "count": 1},
        {"step": "orphans", "count": 1},
        {"step": "purged", "count": 1, "first_id": gone.pk, "last_id": gone.pk,
         "before": events[-1].details["before"]},
    ]
    assert {(e.actor_label, e.kind) for e in events} == {("system:cleanup_fileshare", "fileshare")}
    # Nothing left to do the second time, and nothing recorded for it.
    assert "expired=0 orphans=0 purged=0" in run()
    assert AuditEvent.objects.filter(action="fileshare.cleanup").count() == len(events)


@pytest.mark.django_db(transaction=True)
def test_a_cleanup_killed_midway_leaves_no_unrecorded_change(owner_client, upload_root, record_dies_at):
    from fileshare import services

    items = make_items(owner_client, 3)
    FileShareItem.objects.filter(pk__in=[i.pk for i in items]).update(expires_at=timezone.now() - timedelta(minutes=1))
    record_dies_at(services, 2)
    with pytest.raises(RuntimeError):
        run("--batch", "2")
    # The first batch committed with its event (and its blobs went); the second rolled back whole.
    [event] = AuditEvent.objects.filter(action="fileshare.cleanup")
    assert event.details == {"step": "expired", "count": 2, "items": [items[0].pk, items[1].pk]}
    assert list(FileShareItem.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True)) == [items[2].pk]
    assert blobs(upload_root) == [items[2].storage_name]


@pytest.mark.django_db
def test_dry_run_changes_nothing(owner_client, upload_root):
    (item,) = make_items(owner_client, 1)
    FileShareItem.objects.filter(pk=item.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    make_orphan(upload_root, "2020/01/" + "c" * 32, age=timedelta(hours=2))
    before = blobs(upload_root)
    assert "[dry-run] expired=1 orphans=1 purged=0" in run("--dry-run")
    assert blobs(upload_root) == before
    assert FileShareItem.objects.get(pk=item.pk).deleted_at is None
    assert not AuditEvent.objects.filter(action="fileshare.cleanup").exists()


@pytest.mark.django_db
def test_cleanup_with_an_empty_storage(upload_root):
    assert "expired=0 orphans=0 purged=0" in run()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_do_not_fail_on_postgresql(owner, upload_root):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent cleanup is a PostgreSQL test (SQLite serializes writers)")
    now = timezone.now()
    rows = [FileShareItem(owner=owner, original_name=f"a{i}.txt", storage_name=f"2024/01/{i:032x}", size=1,
                          content_type="text/plain", sha256="0" * 64, expires_at=now - timedelta(hours=1),
                          token_hash=f"{i:064x}") for i in range(300)]
    FileShareItem.objects.bulk_create(rows)
    for row in rows:
        make_orphan(upload_root, row.storage_name, age=timedelta(minutes=1))
    live = FileShareItem.objects.create(owner=owner, original_name="vivo.txt", storage_name="2024/02/" + "f" * 32,
                                        size=1, content_type="text/plain", sha256="0" * 64,
                                        expires_at=now + timedelta(days=1), token_hash="f" * 64)
    make_orphan(upload_root, live.storage_name, age=timedelta(days=1))
    errors, outputs = [], []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            outputs.append(run("--batch", "20"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    expired_counts = [int(out.rsplit("expired=", 1)[1].split()[0]) for out in outputs]
    assert sum(expired_counts) == 300  # each item expired exactly once, split between the runs
    assert FileShareItem.objects.filter(deleted_at__isnull=True).count() == 1
    assert blobs(upload_root) == [live.storage_name]
    # One event per batch that changed something, whichever run took it.
    events = AuditEvent.objects.filter(action="fileshare.cleanup", details__step="expired")
    assert sorted(pk for e in events for pk in e.details["items"]) == sorted(row.pk for row in FileShareItem.objects
                                                                            .exclude(pk=live.pk))
