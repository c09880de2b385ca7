"""Writes of direct uploads: the bytes go from the client straight to the bucket (docs/API.md "Direct uploads").

start: the quota is reserved (a DirectUpload row) and presigned URLs are handed out, one PUT or parts
of `part_size` (the client's choice within S3's limits, else FILESHARE_UPLOAD_PART_SIZE); the client PUTs;
complete: the server assembles a multipart upload, checks the stored size and reads S3's checksum (one
HEAD), sniffs the type from the first bytes (a ranged GET), and takes the SHA-256 from S3's checksum
when it can trust it (a single PUT of a declared sha256, FILESHARE_S3_VERIFIES_CHECKSUMS on), else reads
the object once for it (docs/scaling.md "Uploads straight to the bucket"); only then the reservation
becomes a live item. A refused file is deleted; an abandoned upload is aborted by cleanup_fileshare.
An ended single PUT keeps its row until its URL has expired (_end says why).
Every step leaves its audit event in the transaction that changes the row.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from agepar import blobs
from agepar.errors import AppError, Conflict, Gone, NotFound, UnsupportedMediaType
from audits.services import record
from fileshare import bucket
from fileshare.models import DirectUpload, FileShareItem
from fileshare.services import COMPLETE_GRACE, KIND, add_item, check_quota, lock_owner
from fileshare.sniff import SNIFF_BYTES, sniff
from fileshare.uploads import too_large

# S3 takes at most 10,000 parts: bigger files get bigger parts.
MAX_PARTS = 10_000
# S3's bounds of a part (the last one may be shorter), and so of a part size a client may choose.
MIN_PART_SIZE = 5 * 1024**2
MAX_PART_SIZE = 5 * 1024**3


def ensure_available() -> None:
    """Direct uploads need the S3 storage; with the filesystem one, files go through POST /api/fileshare/items."""
    if not bucket.available():
        raise Conflict("O envio direto só está disponível com o armazenamento S3; envie por /api/fileshare/items.",
                       code="direct_upload_unavailable")


def smallest_part_size(size: int) -> int:
    """The least part size that fits `size` in MAX_PARTS parts (and S3's minimum)."""
    return max(MIN_PART_SIZE, -(-size // MAX_PARTS))


def part_size_for(size: int) -> int:
    """FILESHARE_UPLOAD_PART_SIZE, or the MiB multiple of smallest_part_size if that is larger."""
    mib = 1024 * 1024
    return max(settings.FILESHARE_UPLOAD_PART_SIZE, -(-smallest_part_size(size) // mib) * mib)


def upload_start(*, owner: User, name: str, size: int, ttl: str, password: str = "", max_downloads: int | None = None,
                 sha256: str = "", part_size: int | None = None, request: HttpRequest | None = None
                 ) -> tuple[DirectUpload, list[bucket.PresignedPut]]:
    """Reserve the quota and hand out the presigned PUTs: one for a file up to the part size, else one
    per part (each exactly `part_size` bytes but the last). `name` is already a clean file name;
    `part_size`, if given, is within smallest_part_size(size) and MAX_PART_SIZE (the API checks it)."""
    ensure_available()
    if size > settings.FILESHARE_MAX_UPLOAD_SIZE:
        raise too_large()
    check_quota(owner, size)  # early answer, before S3 is asked for anything
    now = timezone.now()
    upload = DirectUpload(owner=owner, original_name=name, storage_name=blobs.new_name(now=now), size=size,
                          sha256=sha256, part_size=part_size or part_size_for(size), ttl=ttl,
                          max_downloads=max_downloads,
                          password=make_password(password) if password else "", created_at=now,
                          expires_at=now + timedelta(seconds=settings.FILESHARE_UPLOAD_WINDOW))
    if upload.part_count > 1:
        upload.multipart_id = bucket.start_multipart(upload.storage_name)
    try:
        with transaction.atomic():
            lock_owner(owner)
            check_quota(owner, size)
            upload.save(force_insert=True)
            record("fileshare.upload_started", actor=owner, request=request, kind=KIND, target=upload,
                   details={"name": name, "size": size, "parts": upload.part_count,
                            "part_size": upload.part_size, "ttl": ttl,
                            "has_password": bool(password), "max_downloads": max_downloads,
                            "sha256_declared": bool(sha256)})
    except BaseException:
        if upload.multipart_id:
            bucket.discard(upload.storage_name, upload.multipart_id)
        raise
    return upload, _presigned(upload)


def _presigned(upload: DirectUpload) -> list[bucket.PresignedPut]:
    expires_in = max(1, int((upload.expires_at - timezone.now()).total_seconds()))
    if not upload.multipart_id:
        return [bucket.presign_put(upload.storage_name, size=upload.size, sha256=upload.sha256,
                                   expires_in=expires_in)]
    return [bucket.presign_part(upload.storage_name, upload.multipart_id, number=number,
                                size=part_length(upload, number), expires_in=expires_in)
            for number in range(1, upload.part_count + 1)]


def part_length(upload: DirectUpload, number: int) -> int:
    return min(upload.part_size, upload.size - (number - 1) * upload.part_size)


def upload_for(*, pk, owner: User) -> DirectUpload:
    """The owner's upload in flight; 404 for anyone else's, or one that has ended or is gone."""
    ensure_available()
    upload = DirectUpload.objects.in_flight().filter(pk=pk, owner=owner).first()
    if upload is None:
        raise NotFound()
    return upload


def upload_complete(*, upload: DirectUpload, parts: list[tuple[int, str]], request: HttpRequest | None = None
                    ) -> tuple[FileShareItem, str]:
    """Check what the bucket holds and make it a live item; returns (item, link token).

    `parts` [(number, ETag)] is the multipart upload's list (empty for a single PUT). A list that does
    not match, or an object not uploaded yet, changes nothing (the client may try again); an object
    stored with a Content-Encoding, a size that is not the declared one, a refused type or a SHA-256
    other than the declared one ends the upload:
    the object is deleted and the reservation ended (_end).
    """
    parts = sorted(parts)
    if upload.multipart_id and [number for number, _ in parts] != list(range(1, upload.part_count + 1)):
        raise AppError(f"Informe as {upload.part_count} partes, numeradas de 1 a {upload.part_count}, "
                       "com o ETag que o S3 devolveu para cada uma.", code="invalid_parts")
    if parts and not upload.multipart_id:
        raise AppError("Este envio foi feito em um único PUT: não informe partes.", code="invalid_parts")
    claimed = _claim(upload)
    try:
        size, content_type, sha256 = _verified(upload, parts, claimed, request)
        with transaction.atomic():
            if _end(upload, claimed):
                return add_item(owner=upload.owner, name=upload.original_name, storage_name=upload.storage_name,
                                size=size, content_type=content_type, sha256=sha256, ttl=upload.ttl,
                                password_hash=upload.password, max_downloads=upload.max_downloads,
                                request=request, details={"via": "direct", "upload": str(upload.pk)})
    except bucket.BadParts as exc:
        _unclaim(upload, claimed)
        raise AppError("A lista de partes não confere com as partes enviadas ao S3 (número, ETag ou tamanho).",
                       code="invalid_parts") from exc
    except bucket.NoSuchUpload as exc:
        _unclaim(upload, claimed)
        raise _aborted("O armazenamento não tem mais este envio em partes (foi cancelado)") from exc
    except BaseException:
        _unclaim(upload, claimed)
        raise
    # The upload ended meanwhile (aborted, or taken over past COMPLETE_GRACE): whoever ended it decides
    # what becomes of the object.
    raise _aborted("Este envio foi cancelado, ou concluído por outra requisição, enquanto era concluído")


def _verified(upload: DirectUpload, parts: list[tuple[int, str]], claimed, request) -> tuple[int, str, str]:
    """(size, sniffed type, SHA-256) of what the bucket holds; a file that fails a check is refused."""
    if upload.multipart_id:
        try:
            bucket.complete_multipart(upload.storage_name, upload.multipart_id, parts)
        except bucket.NoSuchUpload:
            # S3 answers a repeated CompleteMultipartUpload with success, MinIO and Ceph with NoSuchUpload:
            # a retry of a complete that assembled the object, then died or failed after. The key is this
            # upload's alone, so an object under it is that assembly: check it as any other.
            if bucket.stat(upload.storage_name) is None:
                raise
    stored = bucket.stat(upload.storage_name)
    if stored is None:
        raise Conflict("O arquivo ainda não foi enviado ao armazenamento.", code="not_uploaded")
    if stored.content_encoding:
        # S3 would serve the file with it: a browser would decode what was sniffed and hashed raw.
        _refuse(upload, claimed, "content_encoding", request, content_encoding=stored.content_encoding[:100])
        raise UnsupportedMediaType("O arquivo foi enviado com o cabeçalho Content-Encoding; envie os bytes do "
                                   "arquivo como estão, sem ele. O envio foi descartado.",
                                   code="unsupported_content_encoding")
    size = stored.size
    if size != upload.size:
        _refuse(upload, claimed, "size_mismatch", request, stored_size=size)
        raise AppError(f"O arquivo enviado tem {size} bytes, não os {upload.size} declarados; o envio foi "
                       "descartado.", code="size_mismatch")
    content_type = sniff(bucket.first_bytes(upload.storage_name, SNIFF_BYTES), upload.original_name,
                         complete=size <= SNIFF_BYTES)
    if content_type not in settings.FILESHARE_ALLOWED_TYPES:
        _refuse(upload, claimed, "unsupported_file_type", request, content_type=content_type)
        raise UnsupportedMediaType("Tipo de arquivo não permitido; o envio foi descartado.",
                                   code="unsupported_file_type")
    if (settings.FILESHARE_S3_VERIFIES_CHECKSUMS and not upload.multipart_id and upload.sha256
            and stored.sha256 == upload.sha256):
        # The bucket refused any other bytes in the PUT (BadDigest) and kept the value: no read-back.
        # Never for a multipart upload: its checksum is of the parts' checksums, and not every server
        # marks it so (moto returns it without "-N" or a ChecksumType).
        return size, content_type, stored.sha256
    sha256 = bucket.sha256_of(upload.storage_name)
    if upload.sha256 and sha256 != upload.sha256:
        _refuse(upload, claimed, "checksum_mismatch", request)
        raise AppError("O SHA-256 do arquivo enviado não é o declarado; o envio foi descartado.",
                       code="checksum_mismatch")
    return size, content_type, sha256


def _aborted(what_happened: str) -> Gone:
    return Gone(f"{what_happened}; confira seus arquivos ou comece outro.", code="upload_aborted")


def _claim(upload: DirectUpload):
    """One `complete` at a time, and only before the deadline: a conditional UPDATE decides.

    A claim older than COMPLETE_GRACE is free to take: the `complete` that took it was killed (else the
    upload would answer 409 until cleanup aborted it). Should that request only have been slow, its
    _end no longer matches its claim, and it answers 410."""
    now = timezone.now()
    unclaimed = DirectUpload.objects.unclaimed(now, grace=COMPLETE_GRACE).filter(pk=upload.pk)
    if unclaimed.filter(expires_at__gt=now).update(completing_since=now):
        return now
    current = list(DirectUpload.objects.in_flight().filter(pk=upload.pk).values_list("completing_since", flat=True))
    if not current:
        raise NotFound()
    if current[0] is not None and current[0] > now - COMPLETE_GRACE:
        raise Conflict("Este envio já está sendo concluído.", code="upload_in_progress")
    raise Gone("O prazo deste envio terminou; comece outro.", code="upload_expired")


def _end(upload: DirectUpload, claimed=None) -> bool:
    """End the upload in flight that this request claimed (`claimed`, its claim's time), or that no
    request claims (None; DirectUpload.objects.unclaimed); False if it ended meanwhile, or another
    request holds the claim.

    A multipart upload's row is deleted: its part URLs write nothing once the upload id is completed or
    aborted. A single PUT's row stays, ended, until `expires_at`: `If-None-Match: *` stops its URL only
    while an object is there, and once the object is deleted (refused, aborted, the item deleted) the
    same URL writes it again. So the row keeps counting in the quota (services.check_quota) and claiming
    the key from the orphan sweep until cleanup_fileshare, the URL dead, deletes the key once more.
    """
    if claimed is None:
        rows = DirectUpload.objects.unclaimed(timezone.now(), grace=COMPLETE_GRACE).filter(pk=upload.pk)
    else:
        rows = DirectUpload.objects.in_flight().filter(pk=upload.pk, completing_since=claimed)
    if upload.multipart_id:
        return bool(rows.delete()[0])
    return bool(rows.update(ended_at=timezone.now(), completing_since=None))


def _unclaim(upload: DirectUpload, claimed) -> None:
    # A no-op once the upload has ended (refused, completed or aborted): then nothing is left to retry.
    DirectUpload.objects.in_flight().filter(pk=upload.pk, completing_since=claimed).update(completing_since=None)


def _refuse(upload: DirectUpload, claimed, reason: str, request, **details) -> None:
    with transaction.atomic():
        if _end(upload, claimed):
            record("fileshare.upload_refused", status="failure", actor=upload.owner, request=request, kind=KIND,
                   target=upload, details={"name": upload.original_name, "reason": reason,
                                           "declared_size": upload.size, **details})
        transaction.on_commit(lambda: bucket.discard(upload.storage_name, upload.multipart_id))


def upload_abort(*, upload: DirectUpload, request: HttpRequest | None = None) -> None:
    """The owner gives up: the upload ends (_end), and its parts or object go (on commit)."""
    with transaction.atomic():
        if not _end(upload):
            if DirectUpload.objects.in_flight().filter(pk=upload.pk).exists():
                raise Conflict("Este envio já está sendo concluído.", code="upload_in_progress")
            raise NotFound()
        record("fileshare.upload_aborted", actor=upload.owner, request=request, kind=KIND, target=upload,
               details={"name": upload.original_name, "via": "owner"})
        transaction.on_commit(lambda: bucket.discard(upload.storage_name, upload.multipart_id))
