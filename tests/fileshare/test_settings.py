"""The file-sharing settings refuse what they do not understand."""

import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured

import agepar.settings


@pytest.fixture
def reload_settings(monkeypatch):
    def reload(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(agepar.settings)

    yield reload
    monkeypatch.undo()
    importlib.reload(agepar.settings)


@pytest.mark.parametrize(("env", "message"), [
    ({"FILESHARE_STORAGE": "ftp"}, "FILESHARE_STORAGE must be"),
    ({"FILESHARE_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
    ({"FILESHARE_MAX_UPLOAD_SIZE": "cem mega"}, "FILESHARE_MAX_UPLOAD_SIZE"),
    ({"FILESHARE_MAX_TTL": "uma semana"}, "FILESHARE_MAX_TTL"),
])
def test_bad_values_are_refused(reload_settings, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        reload_settings(**env)


def test_empty_values_mean_the_defaults(reload_settings):
    settings = reload_settings(FILESHARE_ALLOWED_TYPES="", FILESHARE_STORAGE="", FILESHARE_MAX_UPLOAD_SIZE="")
    assert "application/pdf" in settings.FILESHARE_ALLOWED_TYPES
    assert settings.FILESHARE_MAX_UPLOAD_SIZE == 100 * 1024 * 1024
    assert settings.STORAGES["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_storage_uses_path_style_and_relaxed_checksums(reload_settings):
    settings = reload_settings(FILESHARE_STORAGE="s3", AWS_STORAGE_BUCKET_NAME="b",
                               AWS_S3_ENDPOINT_URL="http://minio:9000")
    options = settings.STORAGES["default"]["OPTIONS"]
    assert settings.STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["file_overwrite"] is False and options["endpoint_url"] == "http://minio:9000"
    config = options["client_config"]
    assert config.s3 == {"addressing_style": "path"}
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
