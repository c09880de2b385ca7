"""Handing a stored blob to the client as an attachment, from the filesystem or from S3."""

from typing import TYPE_CHECKING, cast

from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

if TYPE_CHECKING:  # imports boto3: only where the storage is S3
    from storages.backends.s3 import S3Storage


def uses_presigned_urls(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and getattr(storage, "querystring_auth", False)


def attachment(storage_name: str, *, filename: str, content_type: str,
               storage: Storage = default_storage) -> HttpResponseBase:
    """An RFC 6266 attachment named `filename`: local files stream from disk; on S3 a redirect to a
    short-lived presigned URL that makes S3 answer with the same Content-Disposition, type and caching.
    FileNotFoundError if a local blob is missing.

    S3 serves back the headers an object was stored with, and a direct upload's PUT (fileshare.direct)
    chose its own: the URL overrides Cache-Control (no-store also voids an Expires) and Content-Encoding
    ("identity", no coding; `complete` already refuses an object stored with one)."""
    if uses_presigned_urls(storage):
        s3 = cast("S3Storage", storage)  # what uses_presigned_urls found: its url() signs parameters in
        response: HttpResponseBase = HttpResponseRedirect(s3.url(storage_name, parameters={
            "ResponseContentDisposition": content_disposition_header(True, filename),
            "ResponseContentType": content_type,
            "ResponseCacheControl": "private, no-store",
            "ResponseContentEncoding": "identity",
        }))
    else:
        response = FileResponse(storage.open(storage_name, "rb"), as_attachment=True, filename=filename,
                                content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
