"""The same flow on S3 storage, against a real S3-compatible HTTP server (moto in server mode)."""

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from bench.live_upload import MultipartStream, server_env, session_for, upload_all
from bench.s3 import BUCKET, objects, s3_env
from fileshare.models import FileShareItem
from tests.fileshare.helpers import ITEMS_URL, PDF, public_path, sha256, upload
from tests.live import gunicorn


@pytest.mark.django_db
def test_upload_link_download_on_s3(owner_client, anon_client, s3_storage, django_capture_on_commit_callbacks):
    body = upload(owner_client, PDF, "relatório.pdf").json()
    item = FileShareItem.objects.get(pk=body["id"])
    assert objects(s3_storage) == [item.storage_name]
    stored = s3_storage.get_object(Bucket=BUCKET, Key=item.storage_name)["Body"].read()
    assert sha256(stored) == item.sha256 == sha256(PDF)

    response = anon_client.get(public_path(body["link"]) + "/download")
    assert response.status_code == 302
    assert response["Referrer-Policy"] == "no-referrer" and "no-store" in response["Cache-Control"]
    query = parse_qs(urlsplit(response["Location"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 60
    assert query["response-content-disposition"] == ["attachment; filename*=utf-8''relat%C3%B3rio.pdf"]
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.content == PDF
    assert fetched.headers["Content-Disposition"] == "attachment; filename*=utf-8''relat%C3%B3rio.pdf"
    assert FileShareItem.objects.get(pk=item.pk).downloads == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(f"{ITEMS_URL}/{item.pk}").status_code == 204
    assert objects(s3_storage) == []
    assert anon_client.get(public_path(body["link"]) + "/download").status_code == 410


@pytest.mark.django_db(transaction=True)
def test_gunicorn_configured_for_s3_by_environment(tmp_path, owner, s3_endpoint, bucket):
    with gunicorn(tmp_path, **server_env(**s3_env(s3_endpoint))) as base:
        http = session_for(base, owner)
        body = MultipartStream(2 * 1024 * 1024 + 7, name="planilha.pdf")
        status, response = upload_all(base, http, body)
        assert status == 201, response
        item = FileShareItem.objects.get()
        assert objects(bucket) == [item.storage_name] and item.sha256 == body.sha256()
        link = response.split(b'"link":"', 1)[1].split(b'"', 1)[0].decode()
        download = requests.get(link + "/download", timeout=30)  # follows the presigned redirect
        assert download.status_code == 200
        assert download.history[0].status_code == 302
        assert hashlib.sha256(download.content).hexdigest() == item.sha256
