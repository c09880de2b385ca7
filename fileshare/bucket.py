"""The bucket's side of direct uploads: presigned PUTs, multipart calls, HEAD (size, S3's stored
SHA-256 if any, Content-Encoding), a ranged GET of the first bytes, reading an object back, and the probe behind the
deploy check agepar.W005 (does the bucket verify x-amz-checksum-sha256?).

Only with FILESHARE_STORAGE=s3, where the default storage is django-storages' S3Storage: its boto3
client signs and calls, so the credentials, endpoint and addressing style are the ones of every
other blob. Object keys are the blob names (agepar.blobs; the storage has no `location` prefix).
"""

import base64
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from botocore.exceptions import ClientError
from django.core.files.storage import default_storage

from agepar import blobs
from agepar.downloads import uses_presigned_urls

if TYPE_CHECKING:  # at run time only with FILESHARE_STORAGE=s3 (it imports boto3)
    from storages.backends.s3 import S3Storage

log = logging.getLogger(__name__)

READ_CHUNK = 1024 * 1024
# What S3 answers when the part list of CompleteMultipartUpload does not match the parts it holds.
PART_ERRORS = ("InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML")
# What S3 (BadDigest) and MinIO (XAmzContentChecksumMismatch) answer to a body that does not match its
# x-amz-checksum-sha256.
CHECKSUM_ERRORS = ("BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest")


class BadParts(Exception):
    """The part list does not match the uploaded parts (missing, wrong ETag, too small)."""


class NoSuchUpload(Exception):
    """The multipart upload is gone (aborted)."""


@dataclass(frozen=True)
class PresignedPut:
    url: str
    headers: dict[str, str]  # to send exactly as given: they are part of the signature


def available() -> bool:
    return uses_presigned_urls(default_storage)


def _client():
    return default_storage.connection.meta.client


def _object(name: str) -> dict[str, str]:
    return {"Bucket": cast("S3Storage", default_storage).bucket_name, "Key": name}


def presign_put(name: str, *, size: int, sha256: str, expires_in: int) -> PresignedPut:
    """One PUT of the whole file. Signed into it: the exact length, `If-None-Match: *` (no write while an
    object is there, so nobody replaces it after `complete` checked it) and the declared SHA-256, if any,
    with its algorithm: S3 verifies it on arrival (BadDigest otherwise) and keeps it, so that HEAD
    returns it (`stat`). Without `x-amz-sdk-checksum-algorithm` S3 would check the value but store none.

    The URL is good for any number of writes until it expires: once the object is deleted (refused,
    aborted, the item deleted) it can write the key again. fileshare.direct._end keeps the reservation
    until then for that reason."""
    params = {**_object(name), "ContentLength": size, "IfNoneMatch": "*"}
    headers = {"If-None-Match": "*"}
    if sha256:
        params["ChecksumAlgorithm"] = headers["x-amz-sdk-checksum-algorithm"] = "SHA256"
        params["ChecksumSHA256"] = headers["x-amz-checksum-sha256"] = _b64(sha256)
    url = _client().generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)
    return PresignedPut(url, headers)


def start_multipart(name: str) -> str:
    return _client().create_multipart_upload(**_object(name))["UploadId"]


def presign_part(name: str, multipart_id: str, *, number: int, size: int, expires_in: int) -> PresignedPut:
    """One part, of exactly `size` bytes. Once the server completes the upload, these URLs write nothing."""
    params = {**_object(name), "UploadId": multipart_id, "PartNumber": number, "ContentLength": size}
    return PresignedPut(_client().generate_presigned_url("upload_part", Params=params, ExpiresIn=expires_in), {})


def complete_multipart(name: str, multipart_id: str, parts: list[tuple[int, str]]) -> None:
    """Assemble the object from `parts` [(number, ETag)]; BadParts if S3 refuses the list."""
    try:
        _client().complete_multipart_upload(
            **_object(name), UploadId=multipart_id,
            MultipartUpload={"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in parts]})
    except ClientError as exc:
        if _code(exc) in PART_ERRORS:
            raise BadParts(str(exc)) from exc
        if _code(exc) == "NoSuchUpload":
            raise NoSuchUpload(str(exc)) from exc
        raise


@dataclass(frozen=True)
class Stored:
    size: int
    sha256: str  # hex, S3's checksum of the whole object; "" if it keeps none (or only a multipart one)
    # The PUT's Content-Encoding, which S3 keeps and serves back: not signed, so the uploader's choice.
    content_encoding: str


def stat(name: str) -> Stored | None:
    """The stored object's length, full-object SHA-256 and Content-Encoding (one HEAD), None if there is
    no object.

    A multipart upload's checksum is composite ("…-N", a checksum of the parts' checksums): not the
    file's SHA-256, so it counts as none. moto returns it without the suffix or a ChecksumType, so the
    caller trusts this only for an object written by a single PUT."""
    try:
        head = _client().head_object(**_object(name), ChecksumMode="ENABLED")
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    checksum = head.get("ChecksumSHA256") or ""
    if "-" in checksum or head.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
        checksum = ""
    try:
        sha256 = base64.b64decode(checksum, validate=True).hex() if checksum else ""
    except ValueError:
        sha256 = ""
    return Stored(head["ContentLength"], sha256 if len(sha256) == 64 else "", head.get("ContentEncoding") or "")


def first_bytes(name: str, count: int) -> bytes:
    """The first `count` bytes (a ranged GET), or the whole object if it is shorter."""
    return _client().get_object(**_object(name), Range=f"bytes=0-{count - 1}")["Body"].read()


def sha256_of(name: str) -> str:
    """Read the object once, start to end, and hash it: when S3 keeps no full-object SHA-256 (a multipart
    upload, nothing declared) or is not trusted to have verified it (docs/scaling.md "Uploads straight to
    the bucket")."""
    digest = hashlib.sha256()
    body = _client().get_object(**_object(name))["Body"]
    for chunk in body.iter_chunks(READ_CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def discard(name: str, multipart_id: str = "") -> None:
    """Best effort: abort the multipart upload (its parts go) and delete the object, whichever exists.
    What survives a failure here is left to the lifecycle rule and the orphan sweep of cleanup_fileshare."""
    if multipart_id:
        try:
            _client().abort_multipart_upload(**_object(name), UploadId=multipart_id)
        except Exception as exc:
            if _code(exc) != "NoSuchUpload":  # NoSuchUpload: completed, or aborted already
                log.exception("could not abort multipart upload of %s", name)
    blobs.delete([name])


def verifies_checksums(key: str) -> bool:
    """Whether the bucket refuses a PUT whose x-amz-checksum-sha256 is not its body's: PUT a tiny object
    under `key` with a wrong one. Accepted means unverified (the object is deleted again); errors other
    than the checksum refusal (no connection, access denied) propagate."""
    wrong = _b64(hashlib.sha256(b"not the body").hexdigest())
    try:
        _client().put_object(**_object(key), Body=b"agepar checksum probe", ChecksumAlgorithm="SHA256",
                             ChecksumSHA256=wrong)
    except ClientError as exc:
        if _code(exc) in CHECKSUM_ERRORS:
            return True
        raise
    _client().delete_object(**_object(key))
    return False


def _b64(sha256: str) -> str:
    return base64.b64encode(bytes.fromhex(sha256)).decode()


def _code(exc: Exception) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
