"""Shared by the fileshare tests: sample files, uploads (also with raw, hostile multipart bodies)."""

import hashlib
import io
import re
import uuid

from django.core.files.uploadedfile import SimpleUploadedFile

from fileshare.models import FileShareItem

ITEMS_URL = "/api/fileshare/items"
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200 + b"%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10
STORAGE_NAME = re.compile(r"^\d{4}/\d{2}/[0-9a-f]{32}$")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def upload(client, content: bytes = PDF, name: str = "relatorio.pdf", **fields):
    data = {"file": SimpleUploadedFile(name, content), **{k: v for k, v in fields.items() if v is not None}}
    return client.post(ITEMS_URL, data, format="multipart")


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart body built byte by byte (no sanitizing of file names): [(field, filename, data)]."""
    boundary = boundary or uuid.uuid4().hex
    out = io.BytesIO()
    for field, filename, data in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'form-data; name="{field}"'
        if filename is not None:
            out.write(f"Content-Disposition: {disposition}; ".encode() + b'filename="' + filename.encode() + b'"\r\n')
            out.write(b"Content-Type: application/octet-stream\r\n\r\n")
        else:
            out.write(f"Content-Disposition: {disposition}\r\n\r\n".encode())
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def raw_upload(client, filename: str, content: bytes = PDF, **extra):
    body, content_type = multipart([("file", filename, content), ("ttl", None, b"7d")])
    return client.generic("POST", ITEMS_URL, body, content_type=content_type, **extra)


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/s/", 1)[1]


def public_path(link: str) -> str:
    return f"/s/{token_of(link)}"


def blobs(root) -> list[str]:
    """Every file under a FileSystemStorage root, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def item(pk) -> FileShareItem:
    return FileShareItem.objects.get(pk=pk)
