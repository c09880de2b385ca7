"""An upload while the upload disk is full: a clear 507 JSON error, no row, no partial file, and
downloads of what is already stored keep working — issue 7 item 5.

UPLOAD_ROOT is a real 2 MiB tmpfs filled to the last byte (the test needs root to mount it and
skips otherwise); the request goes through the real upload handler and storage.
"""

import contextlib
import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fileshare.models import FileShareItem

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n" + b"x" * 300_000


@pytest.fixture
def small_disk(tmp_path):
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    if not shutil.which("mount"):
        pytest.skip("no mount command")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mountpoint)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


@pytest.fixture
def upload_root(small_disk, settings, tmp_path):
    root = small_disk / "uploads"
    root.mkdir()
    settings.UPLOAD_ROOT = root
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root), "base_url": None}}}
    spool = tmp_path / "spool"  # uploads are spooled on another disk first, as configured in production
    spool.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(spool)
    return root


def _fill(directory: Path) -> Path:
    """Take every remaining byte of the file system `directory` is on."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (65536, 4096, 1):  # down to the last partial block
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)
    probe = os.open(directory / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        with pytest.raises(OSError) as full:
            os.write(probe, b"\0")
    finally:
        os.close(probe)
        os.unlink(directory / "probe")
    assert full.value.errno == errno.ENOSPC
    return filler


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _upload(client, content=PDF, name="relatorio.pdf"):
    return client.post("/api/fileshare/items", {"file": SimpleUploadedFile(name, content), "ttl": "7d"},
                       format="multipart")


def test_an_upload_to_a_full_disk_is_a_507_leaving_nothing_behind(owner_client, anon_client, upload_root, settings):
    stored = _upload(owner_client)
    assert stored.status_code == 201, stored.content
    item_id, link = stored.json()["id"], stored.json()["link"]
    filler = _fill(upload_root.parent)
    files_before = _files(upload_root.parent)
    rows_before = FileShareItem.objects.count()

    refused = _upload(owner_client, name="outro.pdf")

    assert refused.status_code == 507, refused.content
    body = refused.json()
    assert set(body) == {"detail", "code"} and body["detail"]
    assert FileShareItem.objects.count() == rows_before
    assert _files(upload_root.parent) == files_before  # no partial blob
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []  # no spooled leftover

    # What is stored keeps being served, to its owner and through its public link.
    download = owner_client.get(f"/api/fileshare/items/{item_id}/download")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    public = anon_client.get(link.split("testserver", 1)[1] + "/download")
    assert public.status_code == 200
    assert b"".join(public.streaming_content) == PDF

    # The health check names the storage, not the database.
    health = anon_client.get("/api/health")
    assert health.status_code == 503
    assert health.json()["checks"]["storage"]["ok"] is False
    assert health.json()["checks"]["database"]["ok"] is True

    # Space back: uploads work again.
    filler.unlink()
    assert _upload(owner_client, name="depois.pdf").status_code == 201


def test_a_full_spool_disk_is_a_507_too(owner_client, upload_root, settings):
    settings.FILE_UPLOAD_TEMP_DIR = str(upload_root.parent / "spool")
    Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir()
    _fill(upload_root.parent)
    refused = _upload(owner_client)
    assert refused.status_code == 507, refused.content
    assert set(refused.json()) == {"detail", "code"}
    assert FileShareItem.objects.count() == 0
    assert list(Path(settings.FILE_UPLOAD_TEMP_DIR).iterdir()) == []
    assert _files(upload_root) == set()
