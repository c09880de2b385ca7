"""The project's system checks (agepar/checks.py): the session cookie, which Django's own
security.W010-W015 no longer guard with the project's session engine and middleware."""

import pytest
from django.core import checks
from django.test import override_settings

from tests.agepar.test_settings import STRONG_KEY, run_manage


def _ids(**kwargs) -> set[str]:
    return {message.id for message in checks.run_checks(tags=[checks.Tags.security], **kwargs)}


SAFE = {"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True, "SESSION_COOKIE_NAME": "__Host-sessionid"}


@override_settings(**SAFE)
def test_a_secure_http_only_cookie_passes():
    assert not {"agepar.W010", "agepar.W013", "agepar.E004"} & _ids(include_deployment_checks=True)


@pytest.mark.parametrize("value", [False, None, "yes"])
def test_a_cookie_not_secure_is_a_deploy_warning(value):
    with override_settings(**{**SAFE, "SESSION_COOKIE_NAME": "sessionid", "SESSION_COOKIE_SECURE": value}):
        assert "agepar.W010" in _ids(include_deployment_checks=True)
        assert "agepar.W010" not in _ids()  # a development run over plain HTTP is fine


@pytest.mark.parametrize("value", [False, None])
def test_a_cookie_scripts_can_read_is_a_deploy_warning(value):
    with override_settings(**{**SAFE, "SESSION_COOKIE_HTTPONLY": value}):
        assert "agepar.W013" in _ids(include_deployment_checks=True)


@pytest.mark.parametrize("override", [{"SESSION_COOKIE_SECURE": False}, {"SESSION_COOKIE_DOMAIN": "example.org"},
                                      {"SESSION_COOKIE_PATH": "/api/"}])
def test_a_host_prefixed_cookie_browsers_would_refuse_is_an_error(override):
    with override_settings(**{**SAFE, **override}):
        assert "agepar.E004" in _ids()


def test_check_deploy_fails_on_a_session_cookie_over_plain_http(tmp_path):
    """The reviewer's case: SESSION_COOKIE_SECURE=0 under production settings."""
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", DEBUG="0", SECRET_KEY=STRONG_KEY,
                        ALLOWED_HOSTS="portal.example", SESSION_COOKIE_SECURE="0")
    assert result.returncode != 0
    assert "agepar.W010" in result.stdout + result.stderr


def _bucket_warnings() -> dict[str, str]:
    return {m.id: m.msg for m in checks.run_checks(tags=[checks.Tags.security], include_deployment_checks=True)
            if m.id in ("agepar.W005", "agepar.W006")}


def test_a_bucket_that_keeps_a_wrong_checksum_is_a_deploy_warning(settings, s3_storage):
    # moto's server stores x-amz-checksum-sha256 without checking it against the body.
    settings.FILESHARE_STORAGE = "s3"
    settings.FILESHARE_S3_VERIFIES_CHECKSUMS = False
    assert _bucket_warnings() == {}  # off: the bucket is not even asked
    settings.FILESHARE_S3_VERIFIES_CHECKSUMS = True
    warnings = _bucket_warnings()
    assert set(warnings) == {"agepar.W005"} and "does not verify checksums" in warnings["agepar.W005"]
    assert s3_storage.list_objects_v2(Bucket="agepar-compartilhados").get("Contents", []) == []  # probe deleted


def test_a_bucket_out_of_reach_is_a_warning_of_its_own(settings, s3_storage):
    settings.FILESHARE_STORAGE = "s3"
    settings.FILESHARE_S3_VERIFIES_CHECKSUMS = True
    default = settings.STORAGES["default"]
    settings.STORAGES = {**settings.STORAGES, "default": {**default, "OPTIONS": {
        **default["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}}  # discard port: nothing listens
    warnings = _bucket_warnings()
    assert set(warnings) == {"agepar.W006"} and "Could not probe" in warnings["agepar.W006"]
