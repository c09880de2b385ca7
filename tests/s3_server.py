"""S3 through moto's server (a real HTTP S3 API on loopback): the fileshare and the submissions'
file results both store there. Registered for every test module in tests/conftest.py."""

import importlib

import pytest

import agepar.settings
from bench.s3 import BUCKET, s3_client, s3_env
from tests.live import moto_server


# The S3 fixtures (moto's server): fileshare and the submissions' file results both store there.
@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    with moto_server(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture
def bucket(s3_endpoint):
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client
    for upload in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture
def s3_storage(settings, s3_endpoint, bucket, monkeypatch):
    """STORAGES["default"] exactly as agepar.settings builds it from the FILESHARE_STORAGE=s3 environment."""
    for name, value in s3_env(s3_endpoint).items():
        monkeypatch.setenv(name, value)
    built = importlib.reload(agepar.settings)
    settings.STORAGES = {**settings.STORAGES, "default": built.STORAGES["default"]}
    monkeypatch.undo()
    importlib.reload(agepar.settings)
    return bucket
