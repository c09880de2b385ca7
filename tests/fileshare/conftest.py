import importlib

import pytest

import agepar.settings
from tests.fileshare.s3 import BUCKET, s3_client, s3_env
from tests.live import moto_server


@pytest.fixture(autouse=True)
def upload_temp_dir(settings, tmp_path):
    """Uploads spool here, so a test can prove that no temporary file is left behind."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


@pytest.fixture
def upload_root(settings):
    return settings.UPLOAD_ROOT


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
