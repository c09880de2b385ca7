"""The same flow on S3 storage, against a real S3-compatible HTTP server (moto in server mode)."""

import hashlib
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fileshare.models import FileShareItem
from tests.fileshare.helpers import ITEMS_URL, PDF, public_path, sha256, upload
from tests.fileshare.live_upload import MultipartStream, server_env, session_for, upload_all
from tests.live import free_port, gunicorn

pytest.importorskip("moto.server", reason="moto[server] is a dev requirement")
boto3 = pytest.importorskip("boto3")

BUCKET = "agepar-compartilhados"


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(endpoint, timeout=2)
                break
            except (requests.ConnectionError, requests.Timeout):  # a loaded machine: not listening, or slow
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def bucket(s3_endpoint):
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


def s3_env(endpoint: str) -> dict:
    return {"FILESHARE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": BUCKET, "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_REGION_NAME": "us-east-1", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


@pytest.fixture
def s3_storage(settings, s3_endpoint, bucket, monkeypatch):
    """STORAGES["default"] exactly as agepar.settings builds it from the FILESHARE_STORAGE=s3 environment."""
    import importlib

    import agepar.settings

    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    built = importlib.reload(agepar.settings)
    settings.STORAGES = {**settings.STORAGES, "default": built.STORAGES["default"]}
    monkeypatch.undo()
    importlib.reload(agepar.settings)
    return bucket


def objects(client) -> list[str]:
    return [obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


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
