"""POST /api/fileshare/items: streamed upload with limits, sniffed types, quotas and clean failures."""

import errno
import os
import random
from datetime import timedelta

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from tests.fileshare import helpers
from tests.fileshare.helpers import ITEMS_URL, PDF, PNG, STORAGE_NAME, blobs, multipart, public_path, upload

pytestmark = pytest.mark.django_db


def assert_nothing_left(upload_root, upload_temp_dir):
    assert FileShareItem.objects.count() == 0
    assert blobs(upload_root) == []
    assert list(upload_temp_dir.iterdir()) == []


def test_upload_stores_the_file_under_a_server_name_and_returns_the_link_once(owner_client, owner, upload_root,
                                                                              upload_temp_dir):
    response = upload(owner_client, PDF, "Relatório final.pdf", ttl="1d", max_downloads=3)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "name", "size", "content_type", "sha256", "created_at", "expires_at",
                         "max_downloads", "downloads", "has_password", "owner", "link"}
    assert body["name"] == "Relatório final.pdf"
    assert body["size"] == len(PDF) and body["sha256"] == helpers.sha256(PDF)
    assert body["content_type"] == "application/pdf"
    assert body["max_downloads"] == 3 and body["downloads"] == 0 and body["has_password"] is False
    assert body["owner"] == {"id": owner.pk, "nome": owner.nome}
    assert body["link"].startswith("http://testserver/s/")
    item = FileShareItem.objects.get(pk=body["id"])
    assert STORAGE_NAME.match(item.storage_name)
    assert blobs(upload_root) == [item.storage_name]
    assert (upload_root / item.storage_name).read_bytes() == PDF
    assert timedelta(hours=23) < item.expires_at - timezone.now() <= timedelta(days=1)
    assert list(upload_temp_dir.iterdir()) == []
    event = AuditEvent.objects.get(action="fileshare.uploaded")
    assert event.actor_id == owner.pk and event.target_id == str(item.pk)
    # The link is shown only at creation: the item reads never carry it.
    assert "link" not in owner_client.get(f"{ITEMS_URL}/{item.pk}").json()


def test_password_is_hashed_with_a_django_hasher(owner_client):
    body = upload(owner_client, password="segredo-da-planilha").json()
    item = FileShareItem.objects.get(pk=body["id"])
    assert body["has_password"] is True
    assert item.password.startswith(("md5$", "argon2$")) and "segredo" not in item.password


def test_anonymous_cannot_upload(anon_client):
    assert upload(anon_client).status_code == 401
    assert FileShareItem.objects.count() == 0


def test_csrf_is_required(owner):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    assert upload(client).status_code == 403
    assert FileShareItem.objects.count() == 0


def test_over_the_limit_is_413_and_leaves_nothing(owner_client, settings, upload_root, upload_temp_dir):
    settings.FILESHARE_MAX_UPLOAD_SIZE = 100 * 1024
    response = upload(owner_client, PDF + b"x" * (100 * 1024), "grande.pdf")
    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert_nothing_left(upload_root, upload_temp_dir)


def test_exactly_the_limit_is_accepted(owner_client, settings):
    settings.FILESHARE_MAX_UPLOAD_SIZE = len(PDF)
    assert upload(owner_client, PDF).status_code == 201


def test_declared_length_over_the_limit_is_refused_before_reading(owner_client, settings, upload_root,
                                                                  upload_temp_dir):
    settings.FILESHARE_MAX_UPLOAD_SIZE = 1024 * 1024
    body, content_type = multipart([("file", "a.pdf", PDF)])
    # The body is small but claims 50 MiB: reading it would fail, so a 413 proves nothing was read.
    response = owner_client.generic("POST", ITEMS_URL, body, content_type=content_type,
                                    CONTENT_LENGTH=str(50 * 1024 * 1024))
    assert response.status_code == 413
    assert_nothing_left(upload_root, upload_temp_dir)


@pytest.mark.parametrize(("name", "content"), [
    ("fatura.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
    ("fatura.pdf", b"  \n<html><body>oi</body></html>"),
    ("foto.png", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"),
    ("foto.svg", b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'></svg>"),
    ("notas.txt", b"ola\n<script>fetch('/api')</script>"),
    ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200),
    ("prog.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),
    ("run.txt", b"#!/bin/sh\nrm -rf /\n"),
    ("dados.bin", bytes(range(256))),
])
def test_refused_types_are_415_whatever_the_name(owner_client, name, content, upload_root, upload_temp_dir):
    response = upload(owner_client, content, name)
    assert response.status_code == 415, response.content
    assert response.json()["code"] == "unsupported_file_type"
    assert_nothing_left(upload_root, upload_temp_dir)


def test_type_comes_from_the_bytes_not_the_name(owner_client):
    body = upload(owner_client, PNG, "foto.pdf").json()
    assert body["content_type"] == "image/png"
    # The name gets an extension that matches what the file really is.
    assert body["name"] == "foto.pdf.png"


def test_allowed_types_follow_the_setting(owner_client, settings):
    settings.FILESHARE_ALLOWED_TYPES = ["application/pdf"]
    assert upload(owner_client, PNG, "foto.png").status_code == 415
    assert upload(owner_client, PDF, "doc.pdf").status_code == 201


@pytest.mark.parametrize(("raw_name", "stored"), [
    ("../../etc/passwd", "passwd.txt"),
    ("..\\..\\windows\\system32\\evil.txt", "evil.txt"),
    ("nul\x00byte.txt", "nulbyte.txt"),
    ("fatura\u202etxt.exe", "faturatxt.exe.txt"),
    ("linha\x1b[31mvermelha\x07.txt", "linha[31mvermelha.txt"),
])
def test_hostile_names_are_metadata_only_and_served_back_safely(owner_client, raw_name, stored, upload_root):
    response = helpers.raw_upload(owner_client, raw_name, b"conteudo simples\n")
    assert response.status_code == 201, response.content
    body = response.json()
    item = FileShareItem.objects.get(pk=body["id"])
    assert body["name"] == stored
    assert STORAGE_NAME.match(item.storage_name) and blobs(upload_root) == [item.storage_name]
    download = owner_client.get(public_path(body["link"]) + "/download")
    assert download.status_code == 200
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment; filename")
    assert disposition.isascii() and not any(c in disposition for c in "\r\n\x00/\\")
    assert b"".join(download.streaming_content) == b"conteudo simples\n"


def test_a_1000_character_name_is_shortened_and_keeps_its_extension(owner_client):
    response = helpers.raw_upload(owner_client, "é" * 996 + ".pdf", PDF)
    body = response.json()
    assert response.status_code == 201 and len(body["name"]) == 255 and body["name"].endswith(".pdf")
    download = owner_client.get(public_path(body["link"]) + "/download")
    disposition = download["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''%C3%A9") and disposition.endswith(".pdf")
    assert disposition.isascii()


def test_a_long_extension_never_reaches_the_temporary_file_name(owner_client, upload_temp_dir):
    # The extension after an early dot is 261 bytes: as a temporary file's suffix it would be too long.
    response = helpers.raw_upload(owner_client, "a." + "é" * 130, PDF)
    assert response.status_code == 201, response.content
    assert response.json()["name"].startswith("a." + "é" * 130)
    assert list(upload_temp_dir.iterdir()) == []


def test_one_file_per_request(owner_client, upload_root, upload_temp_dir):
    body, content_type = multipart([("file", "a.pdf", PDF), ("file", "b.pdf", PDF)])
    response = owner_client.generic("POST", ITEMS_URL, body, content_type=content_type)
    assert response.status_code == 400
    assert_nothing_left(upload_root, upload_temp_dir)


def test_file_in_another_field_is_refused(owner_client, upload_root, upload_temp_dir):
    body, content_type = multipart([("arquivo", "a.pdf", PDF)])
    assert owner_client.generic("POST", ITEMS_URL, body, content_type=content_type).status_code == 400
    assert_nothing_left(upload_root, upload_temp_dir)


@pytest.mark.parametrize("fields", [{"ttl": "2d"}, {"max_downloads": 0}, {"max_downloads": "x"}])
def test_bad_fields_are_400_and_store_nothing(owner_client, fields, upload_root, upload_temp_dir):
    response = upload(owner_client, **fields)
    assert response.status_code == 400
    assert response.json()["code"] in ("invalid_choice", "min_value", "invalid")
    assert_nothing_left(upload_root, upload_temp_dir)


def test_missing_and_empty_files_are_400(owner_client):
    assert owner_client.post(ITEMS_URL, {"ttl": "7d"}, format="multipart").status_code == 400
    assert upload(owner_client, b"", "vazio.txt").status_code == 400
    assert FileShareItem.objects.count() == 0


def test_ttl_is_capped_by_the_setting(owner_client, settings):
    settings.FILESHARE_MAX_TTL = 2 * 86400
    body = upload(owner_client, ttl="30d").json()
    item = FileShareItem.objects.get(pk=body["id"])
    assert item.expires_at - item.created_at == timedelta(days=2)


def test_default_ttl_is_seven_days(owner_client):
    item = FileShareItem.objects.get(pk=upload(owner_client).json()["id"])
    assert item.expires_at - item.created_at == timedelta(days=7)


def test_quota_in_bytes_is_413_quota_exceeded(owner_client, settings, upload_root):
    settings.FILESHARE_USER_QUOTA_BYTES = len(PDF) * 2
    assert upload(owner_client).status_code == 201
    assert upload(owner_client).status_code == 201
    response = upload(owner_client)
    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
    assert FileShareItem.objects.count() == 2 and len(blobs(upload_root)) == 2


def test_quota_in_items_is_409_too_many_items(owner_client, other_client, settings, upload_root):
    settings.FILESHARE_USER_MAX_ITEMS = 1
    assert upload(owner_client).status_code == 201
    response = upload(owner_client)
    assert response.status_code == 409 and response.json()["code"] == "too_many_items"
    assert upload(other_client).status_code == 201  # the quota is per user
    assert len(blobs(upload_root)) == 2


def test_deleted_and_expired_items_do_not_count_against_the_quota(owner_client, settings):
    settings.FILESHARE_USER_MAX_ITEMS = 1
    first = upload(owner_client).json()
    FileShareItem.objects.filter(pk=first["id"]).update(expires_at=timezone.now())
    assert upload(owner_client).status_code == 201


def test_disk_full_is_507_with_no_row_and_no_partial_file(owner_client, monkeypatch, upload_root, upload_temp_dir):
    def write_half_then_fail(self, name, content):
        # What a real ENOSPC halfway through leaves: a partial file under the final name.
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as partial:
            partial.write(b"%PDF-partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FileSystemStorage, "_save", write_half_then_fail)
    response = upload(owner_client)
    assert response.status_code == 507
    assert response.json()["code"] == "insufficient_storage"
    assert_nothing_left(upload_root, upload_temp_dir)


def test_a_failure_after_the_blob_is_written_removes_it(owner_client, monkeypatch, upload_root, upload_temp_dir):
    import fileshare.services

    def broken_record(*args, **kwargs):
        raise RuntimeError("audit insert failed")

    monkeypatch.setattr(fileshare.services, "record", broken_record)
    owner_client.raise_request_exception = False
    assert upload(owner_client).status_code == 500
    assert_nothing_left(upload_root, upload_temp_dir)


def test_disk_full_while_spooling_is_507_and_leaves_nothing(owner_client, monkeypatch, upload_root, upload_temp_dir):
    import fileshare.uploads

    class FullDisk(fileshare.uploads.TemporaryUploadedFile):
        def write(self, data):
            self.file.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileshare.uploads, "TemporaryUploadedFile", FullDisk)
    response = upload(owner_client)
    assert response.status_code == 507
    assert_nothing_left(upload_root, upload_temp_dir)


def _noise(size: int) -> bytes:
    """Bytes a multipart parser can trip on: line breaks, dashes, and the test helper's boundary alphabet."""
    rng = random.Random(size)
    return bytes(rng.choice(b"\r\n-0123456789abcdefxyz") for _ in range(size))


def test_a_file_of_several_reads_is_stored_and_hashed_exactly(owner_client, upload_root, upload_temp_dir):
    content = b"%PDF-1.7\n" + _noise(3 * 1024 * 1024 + 123)
    body, content_type = multipart([("ttl", None, b"1d"), ("file", "grande.pdf", content), ("extra", None, b"x")])
    response = owner_client.generic("POST", ITEMS_URL, body, content_type=content_type)
    assert response.status_code == 201, response.content
    item = FileShareItem.objects.get(pk=response.json()["id"])
    assert item.sha256 == helpers.sha256(content) and item.size == len(content)
    assert (upload_root / item.storage_name).read_bytes() == content
    assert list(upload_temp_dir.iterdir()) == []


def test_a_refused_type_is_seen_when_its_first_bytes_straddle_two_reads(owner_client, upload_root, upload_temp_dir):
    # A text field fills the first 1 MiB read but for a few bytes, so the file begins in one read and
    # its first 8 KiB (what the sniffer needs) end in the next.
    def build(filler: bytes):
        html = b"<html><script>alert(1)</script>" + b" " * 20_000
        return multipart([("ttl", None, b"1d"), ("nota", None, filler), ("file", "a.pdf", html)], boundary="b" * 32)

    body, content_type = build(b"x" * (1024 * 1024 - 100 - build(b"")[0].index(b"<html>")))
    assert body.index(b"<html>") == 1024 * 1024 - 100
    response = owner_client.generic("POST", ITEMS_URL, body, content_type=content_type)
    assert response.status_code == 415, response.content
    assert_nothing_left(upload_root, upload_temp_dir)


def test_over_the_limit_several_reads_in_is_413_and_leaves_nothing(owner_client, settings, upload_root,
                                                                   upload_temp_dir):
    settings.FILESHARE_MAX_UPLOAD_SIZE = 2 * 1024 * 1024
    response = upload(owner_client, PDF + _noise(3 * 1024 * 1024), "grande.pdf")
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert_nothing_left(upload_root, upload_temp_dir)


@pytest.mark.parametrize("cut", [
    pytest.param(lambda body: body[:-len(b"--\r\n") - 40], id="no final delimiter"),
    pytest.param(lambda body: body.replace(b"\r\n\r\n", b"\r\n", 1), id="headers run into the data"),
    pytest.param(lambda body: body.replace(b"\r\n", b"\n"), id="bare LF line breaks"),
])
def test_a_malformed_body_is_400_and_leaves_nothing(owner_client, cut, upload_root, upload_temp_dir):
    body, content_type = multipart([("file", "a.pdf", PDF + _noise(2 * 1024 * 1024)), ("ttl", None, b"1d")])
    response = owner_client.generic("POST", ITEMS_URL, cut(body), content_type=content_type)
    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert_nothing_left(upload_root, upload_temp_dir)
