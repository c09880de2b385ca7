"""Writes of the fileshare app: each in one transaction with its audit event; blob removal on commit."""

import errno
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from agepar import blobs
from agepar.errors import Conflict, Gone, InsufficientStorage, PayloadTooLarge
from audits.services import record
from fileshare import bucket
from fileshare.models import DirectUpload, FileShareItem, RevokedLink
from fileshare.sniff import safe_download_name
from fileshare.tokens import new_token

TTLS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
KIND = "fileshare"

# A CharField with max_length=255: get_field() is typed for any field (max_length None for a TextField).
NAME_COLUMN_LENGTH: int = FileShareItem._meta.get_field("original_name").max_length  # type: ignore[assignment]
CLEANUP_ACTOR = "system:cleanup_fileshare"
# A blob is written before its row commits; younger blobs may belong to an upload in flight.
ORPHAN_MIN_AGE = timedelta(hours=1)
# How long a direct upload's `complete` may take (it reads the object back): a claim older than this is
# a request that died, and the upload is free again (to complete, abort, or for cleanup to abort).
COMPLETE_GRACE = timedelta(hours=1)


def check_quota(owner: User, size: int) -> None:
    """Room for one more file of `size` bytes? Live items and the reservations of direct uploads both
    count: in flight, or ended but still holding their key (fileshare.direct._end), except one whose key
    is a live item's (it counts as the item). Inside a transaction, call lock_owner() first."""
    reserved = DirectUpload.objects.filter(owner=owner).filter(
        ~Exists(FileShareItem.objects.live().filter(storage_name=OuterRef("storage_name"))))
    usage = [qs.aggregate(items=Count("pk"), total=Coalesce(Sum("size"), 0)) for qs in (
        FileShareItem.objects.live().filter(owner=owner), reserved)]
    if sum(u["items"] for u in usage) >= settings.FILESHARE_USER_MAX_ITEMS:
        raise Conflict("Você atingiu o número máximo de arquivos compartilhados. Exclua algum antes de enviar outro.",
                       code="too_many_items")
    if sum(u["total"] for u in usage) + size > settings.FILESHARE_USER_QUOTA_BYTES:
        raise PayloadTooLarge("Sua cota de armazenamento não comporta este arquivo.", code="quota_exceeded")


def lock_owner(owner: User) -> None:
    """Race: two uploads of one user passing the quota together; the owner's row lock serializes
    them on PostgreSQL (SQLite's immediate transactions already do)."""
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()


def expiry(ttl: str, now: datetime) -> datetime:
    return now + min(TTLS[ttl], timedelta(seconds=settings.FILESHARE_MAX_TTL))


def add_item(*, owner: User, name: str, storage_name: str, size: int, content_type: str, sha256: str, ttl: str,
             password_hash: str, max_downloads: int | None, request: HttpRequest | None = None,
             details: dict | None = None) -> tuple[FileShareItem, str]:
    """Inside the caller's transaction: the item row of a stored blob and its `fileshare.uploaded` event
    (`details` added to the event's); returns (item, link token)."""
    now = timezone.now()
    token, token_hash = new_token()
    item = FileShareItem.objects.create(
        owner=owner, original_name=safe_download_name(name, content_type, max_length=NAME_COLUMN_LENGTH),
        storage_name=storage_name, size=size, content_type=content_type, sha256=sha256, created_at=now,
        expires_at=expiry(ttl, now), max_downloads=max_downloads, token_hash=token_hash, password=password_hash)
    record("fileshare.uploaded", actor=owner, request=request, kind=KIND, target=item,
           details={"name": item.original_name, "size": item.size, "content_type": item.content_type,
                    "ttl": ttl, "has_password": bool(password_hash), "max_downloads": max_downloads,
                    **(details or {})})
    return item, token


def item_create(*, owner: User, upload, ttl: str, password: str = "", max_downloads: int | None = None,
                request: HttpRequest | None = None) -> tuple[FileShareItem, str]:
    """Store the uploaded file and create its item; returns (item, link token).

    The blob is written first and becomes reachable only when the row commits; if anything
    fails in between, the blob is deleted (a crash in between leaves an orphan for cleanup).
    """
    check_quota(owner, upload.size)  # early answer, before copying the blob anywhere
    name = blobs.new_name()
    try:
        name = default_storage.save(name, upload)
    except OSError as exc:
        blobs.delete([name])
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage() from exc
        raise
    try:
        with transaction.atomic():
            lock_owner(owner)
            check_quota(owner, upload.size)
            return add_item(owner=owner, name=upload.name, storage_name=name, size=upload.size,
                            content_type=upload.content_type, sha256=upload.sha256, ttl=ttl,
                            password_hash=make_password(password) if password else "",
                            max_downloads=max_downloads, request=request)
    except BaseException:
        blobs.delete([name])
        raise


def item_rotate_link(*, item: FileShareItem, actor: User, request: HttpRequest | None = None) -> str:
    token, token_hash = new_token()
    with transaction.atomic():
        # Race: a delete, an expiry or another rotation between the lookup and now: the row lock
        # and the UPDATE filtered on the old hash decide, so each old hash is revoked exactly once.
        live = FileShareItem.objects.live().select_for_update().filter(pk=item.pk)
        old_hash = live.values_list("token_hash", flat=True).first()
        if old_hash is None or not live.filter(token_hash=old_hash).update(token_hash=token_hash):
            raise Gone("Este arquivo não está mais disponível.", code="gone")
        RevokedLink.objects.create(item_id=item.pk, token_hash=old_hash)
        record("fileshare.link_rotated", actor=actor, request=request, kind=KIND, target=item)
    return token


def item_delete(*, item: FileShareItem, actor: User, note: str = "", request: HttpRequest | None = None) -> bool:
    """Soft-delete the item (the row stays, the blob goes on commit). False if it was already deleted.

    `note`: the reason staff typed in the admin, kept in the event."""
    reason = FileShareItem.DeleteReason.OWNER if actor.pk == item.owner_id else FileShareItem.DeleteReason.ADMIN
    with transaction.atomic():
        # Race: two deletes (or a delete and cleanup) at once; only the first UPDATE matches.
        updated = FileShareItem.objects.filter(pk=item.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now(), deleted_by=actor, delete_reason=reason)
        if not updated:
            return False
        record("fileshare.deleted", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "reason": reason, **({"note": note} if note else {})})
        transaction.on_commit(lambda: blobs.delete([item.storage_name]))
    return True


def item_expire(*, item: FileShareItem, actor: User, reason: str = "", request: HttpRequest | None = None) -> bool:
    """Make the item expire now (its link dies at once; cleanup removes the blob)."""
    now = timezone.now()
    with transaction.atomic():
        updated = FileShareItem.objects.live(now).filter(pk=item.pk).update(expires_at=now)
        if not updated:
            return False
        record("fileshare.expired", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": "admin", **({"reason": reason} if reason else {})})
    return True


def item_count_download(*, item: FileShareItem, request: HttpRequest | None = None, via: str) -> bool:
    """Take one download from the item's allowance. False if it is gone (deleted, expired, limit reached)."""
    with transaction.atomic():
        # Race: parallel downloads of a max_downloads item; only the UPDATEs that still see
        # downloads < max_downloads (and the item live) match, so the limit is never passed.
        updated = (
            FileShareItem.objects.live().filter(pk=item.pk)
            .filter(Q(max_downloads__isnull=True) | Q(downloads__lt=F("max_downloads")))
            .update(downloads=F("downloads") + 1)
        )
        if not updated:
            return False
        record("fileshare.downloaded", request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": via})
    return True


def record_owner_download(*, item: FileShareItem, actor: User, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        record("fileshare.downloaded", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": "owner"})


def record_download_denied(*, item: FileShareItem, reason: str, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        record("fileshare.download_denied", status="failure", request=request, kind=KIND, target=item,
               details={"reason": reason})


# --- cleanup (manage.py cleanup_fileshare): in batches, each committed with its own audit event --------
# A run killed half-way leaves no change unrecorded; blobs go only once their batch has committed.

def _skip_locked(queryset: QuerySet) -> QuerySet:
    # Two runs at once take disjoint batches on PostgreSQL; SQLite serializes writers anyway.
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _record_cleanup(step: str, **details) -> None:
    record("fileshare.cleanup", actor_label=CLEANUP_ACTOR, kind=KIND, details={"step": step, **details})


def items_expire_overdue(*, batch_size: int = 500, dry_run: bool = False) -> int:
    """Mark expired items deleted and remove their blobs; each batch's event lists its item ids."""
    overdue = FileShareItem.objects.overdue(timezone.now())
    if dry_run:
        return overdue.count()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(_skip_locked(overdue.order_by("id")).values_list("id", "storage_name")[:batch_size])
            if not rows:
                return total
            ids = [pk for pk, _ in rows]
            # Race: a delete by the owner since the SELECT (SQLite); the filter keeps theirs.
            count = FileShareItem.objects.filter(pk__in=ids, deleted_at__isnull=True).update(
                deleted_at=timezone.now(), delete_reason=FileShareItem.DeleteReason.EXPIRED)
            _record_cleanup("expired", count=count, items=ids)
            transaction.on_commit(partial(blobs.delete, [name for _, name in rows]))
        total += count


def items_purge_deleted(*, before: datetime, batch_size: int = 500, dry_run: bool = False) -> int:
    """Delete the rows of items deleted before `before` (their blobs went when they were deleted)."""
    old = FileShareItem.objects.filter(deleted_at__lt=before)
    if dry_run:
        return old.count()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(_skip_locked(old.order_by("id")).values_list("id", flat=True)[:batch_size])
            if not ids:
                return total
            count = FileShareItem.objects.filter(pk__in=ids).delete()[1].get(FileShareItem._meta.label, 0)
            _record_cleanup("purged", count=count, before=before.isoformat(), first_id=ids[0], last_id=ids[-1])
        total += count


def _discard_objects(objects: list[tuple[str, str]]) -> None:
    for name, multipart_id in objects:
        bucket.discard(name, multipart_id)


def uploads_abort_abandoned(*, batch_size: int = 500, dry_run: bool = False) -> int:
    """Abort the direct uploads not completed by their deadline (or stuck completing past COMPLETE_GRACE):
    their reservations go, one `fileshare.upload_aborted` event per batch lists them, and their parts or
    objects are deleted once the batch has committed."""
    abandoned = DirectUpload.objects.abandoned(timezone.now(), grace=COMPLETE_GRACE)
    if dry_run:
        return abandoned.count()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(_skip_locked(abandoned.order_by("expires_at", "pk"))
                        .values_list("pk", "storage_name", "multipart_id")[:batch_size])
            if not rows:
                return total
            count = DirectUpload.objects.filter(pk__in=[pk for pk, _, _ in rows]).delete()[0]
            record("fileshare.upload_aborted", actor_label=CLEANUP_ACTOR, kind=KIND,
                   details={"via": "cleanup", "count": count, "uploads": [str(pk) for pk, _, _ in rows]})
            transaction.on_commit(partial(_discard_objects, [(name, multipart_id) for _, name, multipart_id in rows]))
        total += count


def uploads_drop_ended(*, batch_size: int = 500, dry_run: bool = False) -> int:
    """Drop the rows of ended single PUTs whose URL has expired, after deleting their keys once more (what
    the URL wrote after the object was deleted), but for the blobs of items not deleted; one
    `fileshare.cleanup` event per batch lists them."""
    spent = DirectUpload.objects.spent(timezone.now())
    if dry_run:
        return spent.count()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(_skip_locked(spent.order_by("expires_at", "pk")).values_list("pk", "storage_name")[:batch_size])
            if not rows:
                return total
            names = [name for _, name in rows]
            items = set(_item_blobs(names))
            count = DirectUpload.objects.filter(pk__in=[pk for pk, _ in rows]).delete()[0]
            _record_cleanup("ended_uploads", count=count, uploads=[str(pk) for pk, _ in rows])
            transaction.on_commit(partial(blobs.delete, [name for name in names if name not in items]))
        total += count


def _claimed(names: list[str]) -> list[str]:
    """The objects of direct uploads (in flight, or ended and not yet dropped by cleanup), and the blobs
    of items not deleted.

    Race: a `complete` committing between the two queries (its item appears in the transaction that
    ends or deletes its row). Uploads are read first: an object whose row the first query misses because
    of a `complete` has its item committed already, which the second query sees."""
    uploads = list(DirectUpload.objects.filter(storage_name__in=names).values_list("storage_name", flat=True))
    return [*uploads, *_item_blobs(names)]


def _item_blobs(names: list[str]) -> list[str]:
    """Those of `names` that are the blobs of items not deleted."""
    return list(FileShareItem.objects.filter(storage_name__in=names, deleted_at__isnull=True)
                .values_list("storage_name", flat=True))


def orphan_blobs_remove(*, batch_size: int = 500, dry_run: bool = False) -> int:
    """Remove blobs with no item that is not deleted: left by a crash between write and commit, or a
    failed delete. Older than ORPHAN_MIN_AGE only (an upload may be in flight)."""
    removed = 0
    for orphans in blobs.orphans("", claimed=_claimed, min_age=ORPHAN_MIN_AGE, batch_size=batch_size):
        if orphans and not dry_run:
            with transaction.atomic():
                _record_cleanup("orphans", count=len(orphans))
                transaction.on_commit(partial(blobs.delete, orphans))
        removed += len(orphans)
    return removed
