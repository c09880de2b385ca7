"""Direct uploads to the bucket (docs/API.md "Direct uploads"), against moto's S3 server over HTTP.

The client PUTs to the presigned URLs exactly as a front end would (bench/s3.py); the
server's checks at `complete` read the bucket for real: HEAD, ranged GET, the whole object.
moto does not verify what a presigned URL signs (length, checksum), so the lies S3 itself would
refuse reach `complete` here, which is the check under test.
"""

import base64
import io
import json
import re
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from agepar.errors import AppError
from audits.models import AuditEvent
from bench.s3 import multipart_uploads, objects, put, send_parts
from fileshare import bucket, direct, services
from fileshare.api import DirectUploadSerializer
from fileshare.models import DirectUpload, FileShareItem
from tests.fileshare.helpers import ITEMS_URL, PDF, PNG, public_path, sha256, upload

pytestmark = pytest.mark.django_db
UPLOADS_URL = "/api/fileshare/uploads"
MiB = 1024 * 1024


def start(client, name="relatorio.pdf", size=None, **fields):
    return client.post(UPLOADS_URL, {"name": name, "size": len(PDF) if size is None else size, **fields},
                       format="json")


def complete(client, upload_id, parts=None):
    return client.post(f"{UPLOADS_URL}/{upload_id}/complete", {"parts": parts or []}, format="json")


def big_pdf(size: int) -> bytes:
    return (b"%PDF-1.7\n" + bytes(range(256)) * (size // 256 + 1))[:size]


def actions() -> list[str]:
    return list(AuditEvent.objects.filter(kind="fileshare").order_by("id").values_list("action", flat=True))


@pytest.fixture
def small_parts(settings):
    settings.FILESHARE_UPLOAD_PART_SIZE = 5 * MiB  # S3's smallest part: multipart from 5 MiB + 1 byte


def test_single_put_goes_live_only_after_complete_with_sniffed_type_and_sha256(owner_client, owner, anon_client,
                                                                               s3_storage):
    # The client calls it a .txt; the bytes are a PNG: the item says so, and its name gets the extension.
    response = start(owner_client, name="foto.txt", size=len(PNG), ttl="1d", max_downloads=2)
    assert response.status_code == 201, response.content
    started = response.json()
    assert set(started) == {"id", "name", "size", "expires_at", "multipart", "part_size", "parts"}
    assert started["multipart"] is False and len(started["parts"]) == 1
    (part,) = started["parts"]
    assert part["number"] == 1 and part["size"] == len(PNG) and part["headers"] == {"If-None-Match": "*"}
    signed = parse_qs(urlsplit(part["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert {"content-length", "if-none-match"} <= set(signed)
    reservation = DirectUpload.objects.get(pk=started["id"])
    assert reservation.owner == owner and reservation.size == len(PNG)

    send_parts(started, PNG)
    # Uploaded but not confirmed: no item, nothing listed, nothing downloadable.
    assert objects(s3_storage) == [reservation.storage_name]
    assert FileShareItem.objects.count() == 0
    assert owner_client.get(ITEMS_URL).json()["results"] == []

    response = complete(owner_client, started["id"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "image/png" and body["name"] == "foto.txt.png"
    assert body["size"] == len(PNG) and body["sha256"] == sha256(PNG)
    assert body["max_downloads"] == 2
    item = FileShareItem.objects.get(pk=body["id"])
    assert item.storage_name == reservation.storage_name and not DirectUpload.objects.in_flight().exists()
    assert [i["id"] for i in owner_client.get(ITEMS_URL).json()["results"]] == [item.pk]
    download = anon_client.get(public_path(body["link"]) + "/download")
    assert requests.get(download["Location"], timeout=10).content == PNG
    assert actions() == ["fileshare.upload_started", "fileshare.uploaded", "fileshare.downloaded"]
    event = AuditEvent.objects.get(action="fileshare.uploaded")
    assert event.details["via"] == "direct" and event.details["upload"] == started["id"]
    assert event.target_id == str(item.pk)

    # The checked object cannot be replaced through the URL the client still holds (If-None-Match: *).
    status, _, _ = put(part["url"], b"MZ" + bytes(len(PNG) - 2), part["headers"])
    assert status == 412
    assert s3_storage.get_object(Bucket="agepar-compartilhados", Key=item.storage_name)["Body"].read() == PNG


def test_multipart_upload_with_parts_sent_concurrently(owner_client, s3_storage, small_parts):
    content = big_pdf(11 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content), sha256=sha256(content).upper()).json()
    assert started["multipart"] is True and started["part_size"] == 5 * MiB
    assert [(p["number"], p["size"]) for p in started["parts"]] == [(1, 5 * MiB), (2, 5 * MiB), (3, MiB)]
    assert multipart_uploads(s3_storage) == [DirectUpload.objects.get().storage_name]

    parts = send_parts(started, content, concurrency=3)
    response = complete(owner_client, started["id"], parts[::-1])  # any order
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["size"] == len(content) and body["sha256"] == sha256(content)
    assert body["content_type"] == "application/pdf"
    assert multipart_uploads(s3_storage) == [] and objects(s3_storage) == [FileShareItem.objects.get().storage_name]


@pytest.fixture
def completed_elsewhere(monkeypatch):
    """CompleteMultipartUpload as MinIO and Ceph answer it once the upload id is spent (minio/minio#13318):
    NoSuchUpload, even to a retry of a complete that assembled the object. AWS S3 and moto answer a
    retry with success, so this stands in for the answer only: `assembled` says whether the bucket
    (moto, for real) first assembles the object, as the earlier complete did."""
    real = bucket.complete_multipart

    def answer(*, assembled: bool):
        def complete_multipart(name: str, multipart_id: str, parts: list[tuple[int, str]]) -> None:
            if assembled:
                real(name, multipart_id, parts)
            raise bucket.NoSuchUpload(f"NoSuchUpload: {multipart_id}")
        monkeypatch.setattr(bucket, "complete_multipart", complete_multipart)
    return answer


def test_a_complete_retried_after_the_object_was_assembled_goes_on(owner_client, s3_storage, small_parts,
                                                                   completed_elsewhere):
    # A complete that assembled the object, then died or failed reading it back: the retry's
    # CompleteMultipartUpload finds no upload, and the object under the upload's key is that assembly.
    content = big_pdf(6 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content), sha256=sha256(content)).json()
    parts = send_parts(started, content)
    completed_elsewhere(assembled=True)
    response = complete(owner_client, started["id"], parts)
    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == sha256(content) and response.json()["size"] == len(content)
    assert multipart_uploads(s3_storage) == [] and objects(s3_storage) == [FileShareItem.objects.get().storage_name]
    assert not DirectUpload.objects.exists()


def test_a_multipart_upload_gone_from_s3_without_an_object_is_410(owner_client, s3_storage, small_parts,
                                                                  completed_elsewhere):
    content = big_pdf(6 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content)).json()
    parts = send_parts(started, content)
    upload = DirectUpload.objects.get()
    s3_storage.abort_multipart_upload(Bucket="agepar-compartilhados", Key=upload.storage_name,
                                      UploadId=upload.multipart_id)  # say, by the lifecycle rule
    completed_elsewhere(assembled=False)
    response = complete(owner_client, started["id"], parts)
    assert response.status_code == 410 and response.json()["code"] == "upload_aborted"
    assert FileShareItem.objects.count() == 0 and DirectUpload.objects.get().completing_since is None


def test_a_wrong_part_list_is_refused_and_changes_nothing(owner_client, s3_storage, small_parts):
    content = big_pdf(6 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content)).json()
    parts = send_parts(started, content)
    for wrong in ([parts[0]],  # a part missing
                  [parts[0], parts[0]],  # the same part twice
                  [parts[0], {"number": 3, "etag": parts[1]["etag"]}],  # a number out of range
                  [parts[0], {"number": 2, "etag": '"0123456789abcdef0123456789abcdef"'}],  # an ETag S3 refuses
                  [parts[0], {"number": 2, "etag": "\"a\x00b\""}],  # NUL
                  [{"number": "um", "etag": 1}, parts[1]]):  # wrong types
        response = complete(owner_client, started["id"], wrong)
        assert response.status_code == 400, (wrong, response.content)
        assert response.json()["code"] in ("invalid_parts", "invalid")
        assert FileShareItem.objects.count() == 0 and objects(s3_storage) == []
        assert DirectUpload.objects.get().completing_since is None  # free to try again
    assert complete(owner_client, started["id"], parts).status_code == 201


def test_single_put_takes_no_part_list(owner_client, s3_storage):
    started = start(owner_client).json()
    send_parts(started, PDF)
    response = complete(owner_client, started["id"], [{"number": 1, "etag": '"x"'}])
    assert response.status_code == 400 and response.json()["code"] == "invalid_parts"
    assert complete(owner_client, started["id"]).status_code == 201


@pytest.mark.parametrize("sent", [PDF + b"more bytes than declared", PDF[:-100]])
def test_a_lying_size_is_refused_and_the_object_deleted(owner_client, owner, s3_storage, sent,
                                                        django_capture_on_commit_callbacks):
    started = start(owner_client, size=len(PDF)).json()
    (part,) = started["parts"]
    assert put(part["url"], sent, part["headers"])[0] == 200  # moto ignores the signed Content-Length
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(owner_client, started["id"])
    assert response.status_code == 400 and response.json()["code"] == "size_mismatch"
    assert objects(s3_storage) == [] and FileShareItem.objects.count() == 0
    assert not DirectUpload.objects.in_flight().exists()  # ended: its row stays while its URL lives
    event = AuditEvent.objects.get(action="fileshare.upload_refused")
    assert event.status == "failure" and event.actor_id == owner.pk
    assert event.details["reason"] == "size_mismatch" and event.details["stored_size"] == len(sent)
    # The refused upload is over: completing it again finds nothing.
    assert complete(owner_client, started["id"]).status_code == 404


def test_a_lying_multipart_size_is_refused_and_the_object_deleted(owner_client, s3_storage, small_parts,
                                                                  django_capture_on_commit_callbacks):
    content = big_pdf(6 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content)).json()
    started["parts"][1]["size"] += MiB  # the last part carries more than it was signed for
    parts = send_parts(started, content + bytes(MiB))
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(owner_client, started["id"], parts)
    assert response.status_code == 400 and response.json()["code"] == "size_mismatch"
    assert objects(s3_storage) == [] and multipart_uploads(s3_storage) == [] and not DirectUpload.objects.exists()


@pytest.mark.parametrize("content", [b"MZ\x90\x00" + bytes(5000), b"<!doctype html><script>alert(1)</script>",
                                     b"<svg xmlns='http://www.w3.org/2000/svg'/>"])
def test_a_forbidden_type_is_refused_with_415_and_the_object_deleted(owner_client, s3_storage, content,
                                                                     django_capture_on_commit_callbacks):
    started = start(owner_client, name="relatorio.pdf", size=len(content)).json()
    send_parts(started, content)
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(owner_client, started["id"])
    assert response.status_code == 415 and response.json()["code"] == "unsupported_file_type"
    assert objects(s3_storage) == [] and FileShareItem.objects.count() == 0
    assert not DirectUpload.objects.in_flight().exists()
    assert AuditEvent.objects.get(action="fileshare.upload_refused").details["reason"] == "unsupported_file_type"


def test_a_forbidden_type_is_sniffed_from_the_first_bytes_of_a_multipart_upload(owner_client, s3_storage,
                                                                                 small_parts,
                                                                                 django_capture_on_commit_callbacks):
    content = b"\x7fELF" + bytes(6 * MiB)
    started = start(owner_client, name="planilha.xlsx", size=len(content)).json()
    parts = send_parts(started, content)
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(owner_client, started["id"], parts).status_code == 415
    assert objects(s3_storage) == [] and multipart_uploads(s3_storage) == []


def test_a_declared_sha256_that_does_not_match_is_refused(owner_client, s3_storage,
                                                          django_capture_on_commit_callbacks):
    declared = sha256(PDF)
    started = start(owner_client, sha256=declared).json()
    (part,) = started["parts"]
    # Signed into the URL: real S3 refuses another body (BadDigest); moto does not check, complete does.
    signed = parse_qs(urlsplit(part["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert "x-amz-checksum-sha256" in signed
    assert part["headers"]["x-amz-checksum-sha256"] == base64.b64encode(bytes.fromhex(declared)).decode()
    tampered = PDF.replace(b"Catalog", b"Catalox", 1)
    assert put(part["url"], tampered, part["headers"])[0] == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(owner_client, started["id"])
    assert response.status_code == 400 and response.json()["code"] == "checksum_mismatch"
    assert objects(s3_storage) == [] and FileShareItem.objects.count() == 0


def test_an_object_stored_with_a_content_encoding_is_refused(owner_client, owner, s3_storage,
                                                              django_capture_on_commit_callbacks):
    # Only the length, If-None-Match and the checksum are signed: the uploader may add headers S3 keeps
    # and serves back. A Content-Encoding would have browsers decode what the checks saw raw.
    started = start(owner_client).json()
    (part,) = started["parts"]
    assert put(part["url"], PDF, {**part["headers"], "Content-Encoding": "gzip"})[0] == 200
    key = DirectUpload.objects.get().storage_name
    assert s3_storage.head_object(Bucket="agepar-compartilhados", Key=key)["ContentEncoding"] == "gzip"
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(owner_client, started["id"])
    assert response.status_code == 415 and response.json()["code"] == "unsupported_content_encoding"
    assert objects(s3_storage) == [] and FileShareItem.objects.count() == 0
    event = AuditEvent.objects.get(action="fileshare.upload_refused")
    assert event.actor_id == owner.pk
    assert event.details["reason"] == "content_encoding" and event.details["content_encoding"] == "gzip"


def test_the_download_overrides_the_caching_headers_an_uploader_stored(owner_client, anon_client, s3_storage):
    started = start(owner_client).json()
    (part,) = started["parts"]
    stored = {"Cache-Control": "public, max-age=31536000", "Expires": "Thu, 01 Jan 2037 00:00:00 GMT"}
    assert put(part["url"], PDF, {**part["headers"], **stored})[0] == 200
    body = complete(owner_client, started["id"]).json()
    for download in (anon_client.get(public_path(body["link"]) + "/download"),
                     owner_client.get(f"{ITEMS_URL}/{body['id']}/download")):
        fetched = requests.get(download["Location"], timeout=10)
        assert fetched.status_code == 200 and fetched.content == PDF
        assert fetched.headers["Cache-Control"] == "private, no-store"
        assert fetched.headers["Content-Encoding"] == "identity"


def test_complete_before_the_bytes_arrived_changes_nothing(owner_client, s3_storage):
    started = start(owner_client).json()
    response = complete(owner_client, started["id"])
    assert response.status_code == 409 and response.json()["code"] == "not_uploaded"
    assert DirectUpload.objects.get().completing_since is None
    send_parts(started, PDF)
    assert complete(owner_client, started["id"]).status_code == 201


def test_one_complete_at_a_time_and_none_after_the_deadline(owner_client, s3_storage):
    started = start(owner_client).json()
    send_parts(started, PDF)
    DirectUpload.objects.update(completing_since=timezone.now())  # another request is completing it
    response = complete(owner_client, started["id"])
    assert response.status_code == 409 and response.json()["code"] == "upload_in_progress"
    assert owner_client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 409
    for claim in (None, timezone.now() - services.COMPLETE_GRACE - timedelta(seconds=1)):  # none, or a dead one
        DirectUpload.objects.update(completing_since=claim, expires_at=timezone.now() - timedelta(seconds=1))
        response = complete(owner_client, started["id"])
        assert response.status_code == 410 and response.json()["code"] == "upload_expired"
    assert FileShareItem.objects.count() == 0


@pytest.mark.parametrize("then", ["complete", "abort"])
def test_a_claim_older_than_a_complete_can_last_is_free(owner_client, s3_storage, monkeypatch, then,
                                                        django_capture_on_commit_callbacks):
    # A `complete` killed mid-way leaves its claim: past COMPLETE_GRACE, the upload is free again.
    started = start(owner_client).json()
    send_parts(started, PDF)
    upload = DirectUpload.objects.get()
    answers = []
    real_stat = bucket.stat

    def hang_then_stat(name: str):
        # This request (A) claimed the upload, then hung for longer than a complete can take;
        # meanwhile the owner completes or aborts it (B, whose own stat is the real one).
        monkeypatch.setattr(bucket, "stat", real_stat)
        DirectUpload.objects.update(completing_since=timezone.now() - services.COMPLETE_GRACE - timedelta(seconds=1))
        if then == "complete":
            answers.append(complete(owner_client, started["id"]))
        else:
            answers.append(owner_client.delete(f"{UPLOADS_URL}/{started['id']}"))
        return real_stat(name)

    monkeypatch.setattr(bucket, "stat", hang_then_stat)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(AppError) as late:
        direct.upload_complete(upload=upload, parts=[])
    assert answers[0].status_code == (201 if then == "complete" else 204), answers[0].content
    # A wakes up to find its claim gone: 410, and nothing of B's undone.
    assert late.value.status == 410 and late.value.code == "upload_aborted"
    assert "prazo" not in late.value.detail  # it was not the deadline
    assert FileShareItem.objects.count() == (1 if then == "complete" else 0)
    assert objects(s3_storage) == ([upload.storage_name] if then == "complete" else [])
    assert [e.details.get("via") for e in AuditEvent.objects.filter(
        action__in=["fileshare.uploaded", "fileshare.upload_aborted"])] == ["direct" if then == "complete" else "owner"]


def test_other_users_get_404_on_someone_elses_upload(owner_client, other_client, staff_client, s3_storage):
    started = start(owner_client).json()
    send_parts(started, PDF)
    for client in (other_client, staff_client):
        assert complete(client, started["id"]).status_code == 404
        assert client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 404
    assert complete(owner_client, uuid.uuid4()).status_code == 404
    assert DirectUpload.objects.get().completing_since is None
    assert complete(owner_client, started["id"]).status_code == 201


def test_the_owner_aborts_an_upload(owner_client, s3_storage, small_parts, django_capture_on_commit_callbacks):
    content = big_pdf(6 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content)).json()
    send_parts(started, content)
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 204
    # Its row goes at once (so does its reservation): the part URLs died with the upload id.
    assert multipart_uploads(s3_storage) == [] and objects(s3_storage) == [] and not DirectUpload.objects.exists()
    first = started["parts"][0]
    assert put(first["url"], content[:first["size"]], first["headers"])[0] != 200
    assert multipart_uploads(s3_storage) == [] and objects(s3_storage) == []
    event = AuditEvent.objects.get(action="fileshare.upload_aborted")
    assert event.details["via"] == "owner" and event.target_id == started["id"]
    assert owner_client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 404


EXE = b"MZ\x90\x00" + bytes(len(PDF) - 4)  # a refused type, of the PDF's length


@pytest.mark.parametrize("end", ["aborted", "refused", "completed, then the item deleted"])
def test_an_ended_single_put_keeps_its_reservation_until_its_url_dies(owner_client, s3_storage, settings,
                                                                      monkeypatch, end,
                                                                      django_capture_on_commit_callbacks):
    # `If-None-Match: *` stops the presigned PUT only while the object is there: once the object is
    # deleted, the same URL writes it again until expires_at. What it writes stays counted and cleaned.
    settings.FILESHARE_USER_MAX_ITEMS = 1
    monkeypatch.setattr(services, "ORPHAN_MIN_AGE", timedelta(seconds=-5))  # every blob is old enough
    content = EXE if end == "refused" else PDF
    started = start(owner_client).json()
    (part,) = started["parts"]
    key = DirectUpload.objects.get().storage_name
    send_parts(started, content)
    with django_capture_on_commit_callbacks(execute=True):
        if end == "aborted":
            assert owner_client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 204
        elif end == "refused":
            assert complete(owner_client, started["id"]).status_code == 415
        else:
            item = complete(owner_client, started["id"]).json()
            assert owner_client.delete(f"{ITEMS_URL}/{item['id']}").status_code == 204
    assert objects(s3_storage) == []
    assert put(part["url"], content, part["headers"])[0] == 200  # the URL lives on
    # For the API the upload is over...
    assert complete(owner_client, started["id"]).status_code == 404
    assert owner_client.delete(f"{UPLOADS_URL}/{started['id']}").status_code == 404
    # ...but its reservation holds what the URL wrote: it counts in the quota and the orphan sweep leaves it.
    response = start(owner_client)
    assert response.status_code == 409 and response.json()["code"] == "too_many_items"
    with django_capture_on_commit_callbacks(execute=True):
        assert services.orphan_blobs_remove() == 0
    assert objects(s3_storage) == [key]
    # Once the URL is dead, cleanup deletes the key once more and releases the reservation.
    DirectUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_fileshare", stdout=out)
    assert "ended=1" in out.getvalue() and "aborted=0" in out.getvalue()
    assert objects(s3_storage) == [] and not DirectUpload.objects.exists()
    event = AuditEvent.objects.get(action="fileshare.cleanup", details__step="ended_uploads")
    assert event.details == {"step": "ended_uploads", "count": 1, "uploads": [started["id"]]}
    assert event.actor_label == services.CLEANUP_ACTOR
    assert start(owner_client).status_code == 201


def test_a_completed_single_puts_object_outlives_its_ended_reservation(owner_client, s3_storage,
                                                                       django_capture_on_commit_callbacks):
    started = start(owner_client).json()
    send_parts(started, PDF)
    item = complete(owner_client, started["id"]).json()
    DirectUpload.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.uploads_drop_ended() == 1
    assert objects(s3_storage) == [FileShareItem.objects.get(pk=item["id"]).storage_name]
    assert not DirectUpload.objects.exists()


@pytest.mark.django_db(transaction=True)  # the parts and objects go when the cleanup's batch commits
def test_cleanup_aborts_abandoned_uploads_and_keeps_the_others(owner_client, s3_storage, small_parts):
    content = big_pdf(6 * MiB)
    abandoned_parts = start(owner_client, name="grande.pdf", size=len(content)).json()
    send_parts({**abandoned_parts, "parts": abandoned_parts["parts"][:1]}, content)  # gave up after one part
    abandoned_put = start(owner_client).json()
    send_parts(abandoned_put, PDF)  # sent, never confirmed
    stuck = start(owner_client).json()  # a complete that died long ago
    completing = start(owner_client).json()  # a complete still running
    pending = start(owner_client).json()  # within its deadline
    past = timezone.now() - timedelta(seconds=1)
    DirectUpload.objects.filter(pk__in=[abandoned_parts["id"], abandoned_put["id"]]).update(expires_at=past)
    DirectUpload.objects.filter(pk=stuck["id"]).update(
        expires_at=past, completing_since=timezone.now() - services.COMPLETE_GRACE - timedelta(seconds=1))
    DirectUpload.objects.filter(pk=completing["id"]).update(expires_at=past, completing_since=timezone.now())
    out = io.StringIO()
    call_command("cleanup_fileshare", "--batch=2", stdout=out)
    assert "aborted=3" in out.getvalue()
    assert sorted(str(pk) for pk in DirectUpload.objects.values_list("pk", flat=True)) == sorted(
        [completing["id"], pending["id"]])
    assert multipart_uploads(s3_storage) == [] and objects(s3_storage) == []
    events = AuditEvent.objects.filter(action="fileshare.upload_aborted").order_by("id")
    assert [e.details["count"] for e in events] == [2, 1]  # one event per batch
    assert {u for e in events for u in e.details["uploads"]} == {abandoned_parts["id"], abandoned_put["id"],
                                                                 stuck["id"]}
    assert {e.actor_label for e in events} == {services.CLEANUP_ACTOR}
    # What a slow client sends after the abort finds no upload: nothing to complete.
    assert complete(owner_client, abandoned_put["id"]).status_code == 404


def test_reservations_count_toward_the_quota_until_completed_or_released(owner_client, s3_storage, settings,
                                                                         django_capture_on_commit_callbacks):
    settings.FILESHARE_USER_MAX_ITEMS = 2
    settings.FILESHARE_USER_QUOTA_BYTES = 3 * len(PDF)
    first = start(owner_client).json()
    response = start(owner_client, size=2 * len(PDF) + 1)
    assert response.status_code == 413 and response.json()["code"] == "quota_exceeded"
    second = start(owner_client).json()
    response = start(owner_client)
    assert response.status_code == 409 and response.json()["code"] == "too_many_items"
    assert upload(owner_client).status_code == 409  # the streamed upload counts them too
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.delete(f"{UPLOADS_URL}/{second['id']}")
    # An aborted single PUT holds its reservation until its URL has expired and cleanup released it.
    assert upload(owner_client).status_code == 409
    DirectUpload.objects.filter(pk=second["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.uploads_drop_ended() == 1
    send_parts(first, PDF)
    assert complete(owner_client, first["id"]).status_code == 201  # becomes an item: still one of two
    assert upload(owner_client).status_code == 201
    assert start(owner_client).json()["code"] == "too_many_items"
    assert not DirectUpload.objects.in_flight().exists()


@pytest.mark.parametrize("fields", [
    {"size": -1}, {"size": 0}, {"size": "dez"}, {"size": 10**30}, {"size": None},
    {"name": "../../etc/passwd"}, {"name": "..\\boot.ini"}, {"name": "a\x00b.pdf"}, {"name": "a\nb.pdf"},
    {"name": ".."}, {"name": ""}, {"name": " relatorio.pdf"}, {"name": "\u202egpj.exe"}, {"name": "x" * 256},
    {"name": ["relatorio.pdf"]}, {"ttl": "1y"}, {"max_downloads": 0},
    {"sha256": "xyz"}, {"sha256": "0" * 63}, {"password": "x" * 129},
])
def test_bad_input_is_refused_and_leaves_nothing(owner_client, s3_storage, fields):
    body = json.dumps({"name": "relatorio.pdf", "size": 100, **fields})
    response = owner_client.generic("POST", UPLOADS_URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == set(fields)
    assert not DirectUpload.objects.exists() and multipart_uploads(s3_storage) == [] and objects(s3_storage) == []


def test_a_lone_surrogate_in_the_name_is_refused_by_the_parser(owner_client, s3_storage):
    # The project's JSON parser refuses any body holding one (tests/agepar/test_hostile_input.py).
    body = json.dumps({"name": "a\ud800.pdf", "size": 100})  # ASCII: the surrogate as \ud800
    response = owner_client.generic("POST", UPLOADS_URL, body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert not DirectUpload.objects.exists() and multipart_uploads(s3_storage) == [] and objects(s3_storage) == []
    assert not AuditEvent.objects.exists()


def test_a_file_over_the_size_limit_is_refused_before_anything_is_reserved(owner_client, s3_storage, settings):
    settings.FILESHARE_MAX_UPLOAD_SIZE = 10 * MiB
    response = start(owner_client, size=10 * MiB + 1)
    assert response.status_code == 413 and response.json()["code"] == "too_large"
    assert not DirectUpload.objects.exists() and multipart_uploads(s3_storage) == []


def test_large_files_get_larger_parts_within_s3s_10000(small_parts):
    for size in (5 * MiB, 10_000 * 5 * MiB, 10_000 * 5 * MiB + 1, 60 * 1024**3 + 1, 5 * 1024**4):
        part_size = direct.part_size_for(size)
        assert part_size % MiB == 0 and -(-size // part_size) <= 10_000
    assert direct.part_size_for(10_000 * 5 * MiB) == 5 * MiB
    assert direct.part_size_for(10_000 * 5 * MiB + 1) == 6 * MiB


def test_the_in_flight_object_is_no_orphan(owner_client, s3_storage, monkeypatch,
                                           django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "ORPHAN_MIN_AGE", timedelta(seconds=-5))  # every blob is old enough
    started = start(owner_client).json()
    send_parts(started, PDF)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.orphan_blobs_remove() == 0
    assert objects(s3_storage) == [DirectUpload.objects.get().storage_name]
    DirectUpload.objects.all().delete()  # without its reservation, the same object is an orphan
    with django_capture_on_commit_callbacks(execute=True):
        assert services.orphan_blobs_remove() == 1
    assert objects(s3_storage) == []


def test_an_upload_completed_while_the_sweep_reads_keeps_its_object(owner_client, anon_client, s3_storage,
                                                                    monkeypatch, django_capture_on_commit_callbacks):
    # The sweep reads who claims a blob in two queries; a `complete` commits between them (its row moves
    # from the uploads to the items in one transaction). The object is an item's: it must stay.
    monkeypatch.setattr(services, "ORPHAN_MIN_AGE", timedelta(seconds=-5))  # the PUT was long ago
    started = start(owner_client).json()
    send_parts(started, PDF)
    queries: list[str] = []
    completed = []

    def complete_before_the_second_query(execute, sql, params, many, context):
        queries.append(sql)
        if len(queries) == 2 and not completed:
            completed.append(complete(owner_client, started["id"]))
        return execute(sql, params, many, context)

    with (django_capture_on_commit_callbacks(execute=True),
          connection.execute_wrapper(complete_before_the_second_query)):
        services.orphan_blobs_remove()
    assert completed[0].status_code == 201, completed[0].content
    assert objects(s3_storage) == [FileShareItem.objects.get().storage_name]
    download = anon_client.get(public_path(completed[0].json()["link"]) + "/download")
    assert requests.get(download["Location"], timeout=10).content == PDF


def test_with_the_filesystem_storage_direct_uploads_answer_409(owner_client):
    for response in (start(owner_client), complete(owner_client, uuid.uuid4()),
                     owner_client.delete(f"{UPLOADS_URL}/{uuid.uuid4()}")):
        assert response.status_code == 409 and response.json()["code"] == "direct_upload_unavailable"
    assert upload(owner_client).status_code == 201  # the streamed upload is the way there


def test_anonymous_cannot_start_an_upload(anon_client, s3_storage):
    assert start(anon_client).status_code == 401
    assert not DirectUpload.objects.exists()


def test_the_signed_put_of_a_declared_sha256_carries_its_algorithm(owner_client, s3_storage):
    # Without x-amz-sdk-checksum-algorithm S3 checks the value but keeps none for HEAD to return.
    started = start(owner_client, sha256=sha256(PDF)).json()
    (part,) = started["parts"]
    assert part["headers"] == {"If-None-Match": "*", "x-amz-sdk-checksum-algorithm": "SHA256",
                               "x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(sha256(PDF))).decode()}
    signed = parse_qs(urlsplit(part["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert {"x-amz-sdk-checksum-algorithm", "x-amz-checksum-sha256"} <= set(signed)


@pytest.fixture
def read_backs(monkeypatch):
    """The names `complete` read back whole for their SHA-256 (bucket.sha256_of, still run for real)."""
    names: list[str] = []
    real = bucket.sha256_of

    def spy(name: str) -> str:
        names.append(name)
        return real(name)

    monkeypatch.setattr(bucket, "sha256_of", spy)
    return names


@pytest.mark.parametrize(("verifies", "declared", "part_size", "read_back"), [
    (True, True, 6 * MiB, False),  # the fast path: one PUT, S3 checked and kept the declared sha256
    (False, True, 6 * MiB, True),  # the setting off: S3's value is not trusted
    (True, False, 6 * MiB, True),  # nothing declared: S3 kept no checksum
    (True, True, 5 * MiB, True),  # multipart: S3 keeps none of the whole file
])
def test_s3s_sha256_is_taken_only_from_a_verifying_bucket_after_a_declared_single_put(
        owner_client, s3_storage, settings, read_backs, verifies, declared, part_size, read_back):
    settings.FILESHARE_S3_VERIFIES_CHECKSUMS = verifies
    content = big_pdf(6 * MiB)
    fields = {"sha256": sha256(content)} if declared else {}
    started = start(owner_client, name="grande.pdf", size=len(content), part_size=part_size, **fields).json()
    assert started["part_size"] == part_size and started["multipart"] is (part_size < len(content))
    parts = send_parts(started, content)
    key = DirectUpload.objects.get().storage_name
    if not started["multipart"] and declared:  # what the bucket kept from the PUT, for one HEAD to return
        head = s3_storage.head_object(Bucket="agepar-compartilhados", Key=key, ChecksumMode="ENABLED")
        assert base64.b64decode(head["ChecksumSHA256"]).hex() == sha256(content)
    response = complete(owner_client, started["id"], parts if started["multipart"] else [])
    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == sha256(content) and response.json()["content_type"] == "application/pdf"
    assert read_backs == ([key] if read_back else [])


def test_a_part_size_of_the_clients_choice(owner_client, s3_storage):
    content = big_pdf(16 * MiB)
    started = start(owner_client, name="grande.pdf", size=len(content), part_size=6 * MiB).json()
    assert started["multipart"] is True and started["part_size"] == 6 * MiB
    assert [(p["number"], p["size"]) for p in started["parts"]] == [(1, 6 * MiB), (2, 6 * MiB), (3, 4 * MiB)]
    assert len({p["url"] for p in started["parts"]}) == 3
    response = complete(owner_client, started["id"], send_parts(started, content))
    assert response.status_code == 201 and response.json()["sha256"] == sha256(content)
    assert AuditEvent.objects.get(action="fileshare.upload_started").details["part_size"] == 6 * MiB


@pytest.mark.parametrize("part_size", [lambda size: size, lambda size: size + 1, lambda size: 5 * 1024**3])
def test_a_part_size_of_at_least_the_file_is_one_put(owner_client, s3_storage, small_parts, part_size):
    content = big_pdf(6 * MiB)  # over FILESHARE_UPLOAD_PART_SIZE: multipart by default
    started = start(owner_client, name="grande.pdf", size=len(content), part_size=part_size(len(content))).json()
    assert started["multipart"] is False and [p["size"] for p in started["parts"]] == [len(content)]
    assert multipart_uploads(s3_storage) == []
    send_parts(started, content)
    assert complete(owner_client, started["id"]).status_code == 201


@pytest.mark.parametrize(("size", "part_size"), [
    (100, 5 * MiB - 1),  # under S3's smallest part
    (100, 5 * 1024**3 + 1),  # over its largest
    (10_000 * 5 * MiB + 1, 5 * MiB),  # 10,001 parts
    (100, "cinco"), (100, True), (100, False), (100, None), (100, [5 * MiB]), (100, 5 * MiB + 0.5),
])
def test_a_part_size_out_of_bounds_is_refused_and_leaves_nothing(owner_client, s3_storage, settings, size,
                                                                 part_size):
    settings.FILESHARE_MAX_UPLOAD_SIZE = 10**12
    body = json.dumps({"name": "relatorio.pdf", "size": size, "part_size": part_size})
    response = owner_client.generic("POST", UPLOADS_URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"part_size"}
    assert not DirectUpload.objects.exists() and multipart_uploads(s3_storage) == [] and objects(s3_storage) == []
    assert not AuditEvent.objects.exists()


def test_the_smallest_part_size_fits_10000_parts():
    # The serializer alone: handing out 10,000 presigned URLs is slow and shows nothing more.
    size = 10_000 * 5 * MiB + 1
    for part_size, valid in ((5 * MiB + 1, True), (5 * MiB, False)):
        serializer = DirectUploadSerializer(data={"name": "grande.pdf", "size": size, "part_size": part_size})
        assert serializer.is_valid() is valid, serializer.errors
        assert -(-size // part_size) <= direct.MAX_PARTS or not valid
    assert direct.smallest_part_size(size) == 5 * MiB + 1 and direct.smallest_part_size(1) == 5 * MiB



DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_api_md_lists_every_field_of_the_start_body():
    row = next(line for line in (DOCS / "API.md").read_text().splitlines()
               if line.startswith("| POST | `/api/fileshare/uploads` |"))
    listed = re.search(r"JSON `\{([^}]*)\}`", row).group(1)
    assert {name.strip('"') for name in listed.split(",")} == set(DirectUploadSerializer().fields)


def test_api_md_lists_every_code_complete_answers():
    table = (DOCS / "API.md").read_text().split("| answer of `complete` |", 1)[1].split("\n\n", 1)[0]
    source = Path(direct.__file__).read_text()
    for code in re.findall(r'code="([a-z_]+)"', source):
        if code != "direct_upload_unavailable":  # said once for all three endpoints
            assert f"`{code}`" in table, code


def test_the_documented_cors_rule_allows_what_start_hands_out(owner_client, s3_storage):
    # A browser PUTs to the bucket's origin: the preflight must allow every header `start` gives
    # (the file's Content-Type too, which a browser adds), and the part's ETag must be readable.
    section = (DOCS / "scaling.md").read_text().split("### Bucket set-up: CORS for a browser front end", 1)[1]
    rules = json.loads(section.split("```json", 1)[1].split("```", 1)[0])
    s3_storage.put_bucket_cors(Bucket="agepar-compartilhados", CORSConfiguration=rules)  # a shape S3 takes
    (rule,) = rules["CORSRules"]
    (part,) = start(owner_client, sha256=sha256(PDF)).json()["parts"]
    assert rule["AllowedMethods"] == ["PUT"] and rule["ExposeHeaders"] == ["ETag"]
    assert {name.lower() for name in part["headers"]} | {"content-type"} == set(rule["AllowedHeaders"])
