"""Writes of the fileshare app: each in one transaction with its audit event; blob removal on commit."""

import errno
import hashlib
import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from agepar.errors import Conflict, Gone, InsufficientStorage, PayloadTooLarge
from audits.services import record
from fileshare.models import FileShareItem, RevokedLink
from fileshare.sniff import safe_download_name

log = logging.getLogger(__name__)

TTLS = {"1d": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}
KIND = "fileshare"

NAME_COLUMN_LENGTH = FileShareItem._meta.get_field("original_name").max_length


def new_token() -> tuple[str, str]:
    """A link token and the SHA-256 that is all the database keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_storage_name(now) -> str:
    return f"{now:%Y/%m}/{uuid.uuid4().hex}"


def delete_blob(name: str) -> None:
    """Best effort: a blob that survives becomes an orphan, which cleanup_fileshare removes."""
    try:
        default_storage.delete(name)
    except Exception:
        log.exception("fileshare: could not delete blob %s", name)


def _check_quota(owner, size: int) -> None:
    now = timezone.now()
    usage = FileShareItem.objects.filter(owner=owner, deleted_at__isnull=True, expires_at__gt=now).aggregate(
        items=Count("id"), total=Coalesce(Sum("size"), 0))
    if usage["items"] >= settings.FILESHARE_USER_MAX_ITEMS:
        raise Conflict("Você atingiu o número máximo de arquivos compartilhados. Exclua algum antes de enviar outro.",
                       code="too_many_items")
    if usage["total"] + size > settings.FILESHARE_USER_QUOTA_BYTES:
        raise PayloadTooLarge("Sua cota de armazenamento não comporta este arquivo.", code="quota_exceeded")


def item_create(*, owner, upload, ttl: str, password: str = "", max_downloads: int | None = None,
                request=None) -> tuple[FileShareItem, str]:
    """Store the uploaded file and create its item; returns (item, link token).

    The blob is written first and becomes reachable only when the row commits; if anything
    fails in between, the blob is deleted (a crash in between leaves an orphan for cleanup).
    """
    _check_quota(owner, upload.size)  # early answer, before copying the blob anywhere
    now = timezone.now()
    expires_at = now + min(TTLS[ttl], timedelta(seconds=settings.FILESHARE_MAX_TTL))
    name = new_storage_name(now)
    try:
        name = default_storage.save(name, upload)
    except OSError as exc:
        delete_blob(name)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage() from exc
        raise
    token, token_hash = new_token()
    try:
        with transaction.atomic():
            # Race: two uploads of one user passing the quota together; the owner's row lock
            # serializes them on PostgreSQL (SQLite's immediate transactions already do).
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _check_quota(owner, upload.size)
            original_name = safe_download_name(upload.name, upload.content_type, max_length=NAME_COLUMN_LENGTH)
            item = FileShareItem.objects.create(
                owner=owner, original_name=original_name, storage_name=name, size=upload.size,
                content_type=upload.content_type, sha256=upload.sha256,
                created_at=now, expires_at=expires_at, max_downloads=max_downloads, token_hash=token_hash,
                password=make_password(password) if password else "",
            )
            record("fileshare.uploaded", actor=owner, request=request, kind=KIND, target=item,
                   details={"name": item.original_name, "size": item.size, "content_type": item.content_type,
                            "ttl": ttl, "has_password": bool(password), "max_downloads": max_downloads})
    except BaseException:
        delete_blob(name)
        raise
    return item, token


def item_rotate_link(*, item: FileShareItem, actor, request=None) -> str:
    token, token_hash = new_token()
    with transaction.atomic():
        # Race: a delete, an expiry or another rotation between the lookup and now: the row lock
        # and the UPDATE filtered on the old hash decide, so each old hash is revoked exactly once.
        live = FileShareItem.objects.select_for_update().filter(
            pk=item.pk, deleted_at__isnull=True, expires_at__gt=timezone.now())
        old_hash = live.values_list("token_hash", flat=True).first()
        if old_hash is None or not live.filter(token_hash=old_hash).update(token_hash=token_hash):
            raise Gone("Este arquivo não está mais disponível.", code="gone")
        RevokedLink.objects.create(item_id=item.pk, token_hash=old_hash)
        record("fileshare.link_rotated", actor=actor, request=request, kind=KIND, target=item)
    return token


def item_delete(*, item: FileShareItem, actor, request=None) -> bool:
    """Soft-delete the item (the row stays, the blob goes on commit). False if it was already deleted."""
    reason = FileShareItem.DeleteReason.OWNER if actor.pk == item.owner_id else FileShareItem.DeleteReason.ADMIN
    with transaction.atomic():
        # Race: two deletes (or a delete and cleanup) at once; only the first UPDATE matches.
        updated = FileShareItem.objects.filter(pk=item.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now(), deleted_by=actor, delete_reason=reason)
        if not updated:
            return False
        record("fileshare.deleted", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "reason": reason})
        transaction.on_commit(lambda: delete_blob(item.storage_name))
    return True


def item_expire(*, item: FileShareItem, actor, request=None) -> bool:
    """Make the item expire now (its link dies at once; cleanup removes the blob)."""
    now = timezone.now()
    with transaction.atomic():
        updated = FileShareItem.objects.filter(pk=item.pk, deleted_at__isnull=True, expires_at__gt=now).update(
            expires_at=now)
        if not updated:
            return False
        record("fileshare.expired", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": "admin"})
    return True


def item_count_download(*, item: FileShareItem, request=None, via: str) -> bool:
    """Take one download from the item's allowance. False if it is gone (deleted, expired, limit reached)."""
    with transaction.atomic():
        # Race: parallel downloads of a max_downloads item; only the UPDATEs that still see
        # downloads < max_downloads (and the item live) match, so the limit is never passed.
        updated = (
            FileShareItem.objects.filter(pk=item.pk, deleted_at__isnull=True, expires_at__gt=timezone.now())
            .filter(Q(max_downloads__isnull=True) | Q(downloads__lt=F("max_downloads")))
            .update(downloads=F("downloads") + 1)
        )
        if not updated:
            return False
        record("fileshare.downloaded", request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": via})
    return True


def record_owner_download(*, item: FileShareItem, actor, request=None) -> None:
    with transaction.atomic():
        record("fileshare.downloaded", actor=actor, request=request, kind=KIND, target=item,
               details={"name": item.original_name, "via": "owner"})


def record_download_denied(*, item: FileShareItem, reason: str, request=None) -> None:
    with transaction.atomic():
        record("fileshare.download_denied", status="failure", request=request, kind=KIND, target=item,
               details={"reason": reason})
