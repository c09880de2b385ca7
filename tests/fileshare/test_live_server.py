"""Against a real gunicorn: limits enforced while the body streams, dropped connections, parallel downloads."""

import hashlib
import threading
from datetime import timedelta

import pytest
import requests
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from bench.live_upload import (
    MultipartStream,
    gunicorn_worker_pids,
    memory_kib,
    open_upload,
    read_response,
    reset_peak,
    server_env,
    session_for,
    spool_files,
    upload_all,
    wait_until,
)
from fileshare.models import FileShareItem
from fileshare.tokens import new_token
from tests.fileshare.helpers import blobs
from tests.live import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
MIB = 1024 * 1024


@pytest.fixture
def spool(tmp_path):
    path = tmp_path / "spool"
    path.mkdir()
    return path


def test_over_the_limit_is_answered_413_while_the_body_is_still_arriving(tmp_path, owner, spool, upload_root):
    env = server_env(FILESHARE_MAX_UPLOAD_SIZE="1M", FILE_UPLOAD_TEMP_DIR=str(spool))
    with gunicorn(tmp_path, **env) as base:
        http = session_for(base, owner)
        # Declares a length the up-front check accepts (limit + room for the form fields), so only
        # the streaming check can stop it.
        body = MultipartStream(MIB + 1900 * 1024)
        sock = open_upload(base, http, body)
        try:
            sent = 0
            for piece in body.file_chunks():
                sock.sendall(piece)
                sent += len(piece)
                if sent >= 2 * MIB + 256 * 1024:
                    break
            # About 650 KiB are still unsent: the answer comes without them.
            status, response = read_response(sock, timeout=20)
        finally:
            sock.close()
        assert status == 413, response
        assert b'"code":"too_large"' in response
        assert wait_until(lambda: spool_files(spool) == [])
    assert FileShareItem.objects.count() == 0 and blobs(upload_root) == []


def test_a_declared_length_over_the_limit_is_refused_before_any_body_byte(tmp_path, owner, spool, upload_root):
    env = server_env(FILESHARE_MAX_UPLOAD_SIZE="1M", FILE_UPLOAD_TEMP_DIR=str(spool))
    with gunicorn(tmp_path, **env) as base:
        http = session_for(base, owner)
        body = MultipartStream(500 * MIB)
        sock = open_upload(base, http, body)  # headers and the multipart preamble only
        try:
            status, response = read_response(sock, timeout=20)
        finally:
            sock.close()
        assert status == 413, response
    assert FileShareItem.objects.count() == 0 and blobs(upload_root) == [] and spool_files(spool) == []


def test_a_connection_dropped_mid_upload_leaves_nothing(tmp_path, owner, spool, upload_root):
    with gunicorn(tmp_path, **server_env(FILE_UPLOAD_TEMP_DIR=str(spool))) as base:
        http = session_for(base, owner)
        body = MultipartStream(8 * MIB)
        sock = open_upload(base, http, body)
        sent = 0
        for piece in body.file_chunks():
            sock.sendall(piece)
            sent += len(piece)
            if sent >= 4 * MIB:
                break
        assert wait_until(lambda: len(spool_files(spool)) == 1, timeout=10), "the upload was being spooled"
        sock.close()
        assert wait_until(lambda: spool_files(spool) == [], timeout=20), spool_files(spool)
        # The server is fine and the next upload works.
        status, _ = upload_all(base, http, MultipartStream(MIB))
        assert status == 201
    assert FileShareItem.objects.count() == 1 and len(blobs(upload_root)) == 1


def test_upload_through_gunicorn_stores_identical_bytes(tmp_path, owner, spool, upload_root):
    with gunicorn(tmp_path, **server_env(FILE_UPLOAD_TEMP_DIR=str(spool))) as base:
        http = session_for(base, owner)
        body = MultipartStream(3 * MIB + 123)
        status, response = upload_all(base, http, body)
        assert status == 201, response
        item = FileShareItem.objects.get()
        assert item.sha256 == body.sha256() and item.size == 3 * MIB + 123
        link = response.split(b'"link":"', 1)[1].split(b'"', 1)[0].decode()
        download = requests.get(link + "/download", timeout=30)
        assert download.status_code == 200
        assert hashlib.sha256(download.content).hexdigest() == item.sha256
    assert spool_files(spool) == []


def test_twenty_parallel_downloads_of_a_single_download_link(tmp_path, owner):
    if connection.vendor != "postgresql":
        pytest.skip("the parallel-download race is tested on PostgreSQL")
    content = b"%PDF-1.7\n" + b"x" * 200_000
    name = default_storage.save(f"2026/01/{'d' * 32}", ContentFile(content))
    token, token_hash = new_token()
    item = FileShareItem.objects.create(
        owner=owner, original_name="uma-vez.pdf", storage_name=name, size=len(content),
        content_type="application/pdf", sha256=hashlib.sha256(content).hexdigest(),
        expires_at=timezone.now() + timedelta(days=1), max_downloads=1, token_hash=token_hash)
    with gunicorn(tmp_path, workers=2, GUNICORN_THREADS="8") as base:
        barrier = threading.Barrier(20)
        results = []

        def fetch():
            barrier.wait()
            response = requests.get(f"{base}/s/{token}/download", timeout=60)
            results.append((response.status_code, response.content if response.status_code == 200 else b""))

        threads = [threading.Thread(target=fetch) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [410] * 19
    assert next(body for status, body in results if status == 200) == content
    item.refresh_from_db()
    assert item.downloads == 1


@pytest.mark.slow
def test_a_200_mib_upload_keeps_the_worker_memory_flat(tmp_path, owner, spool):
    env = server_env(FILE_UPLOAD_TEMP_DIR=str(spool), FILESHARE_MAX_UPLOAD_SIZE="300M")
    with gunicorn(tmp_path, **env) as base:
        http = session_for(base, owner)
        assert upload_all(base, http, MultipartStream(MIB))[0] == 201  # warm-up: every module imported
        (worker,) = gunicorn_worker_pids(base)
        baseline = memory_kib(worker, "VmRSS")
        reset_peak(worker)
        body = MultipartStream(200 * MIB)
        status, response = upload_all(base, http, body)
        assert status == 201, response
        growth_mib = (memory_kib(worker, "VmHWM") - baseline) / 1024
    assert growth_mib < 64, f"worker peak RSS grew by {growth_mib:.1f} MiB"
    assert FileShareItem.objects.get(size=200 * MIB).sha256 == body.sha256()
