"""The process refuses unsafe production configuration, and the safe one passes check --deploy."""

import subprocess
import sys

import pytest

from tests.live import PRODUCTION_ENV, ROOT

STRONG_KEY = PRODUCTION_ENV["SECRET_KEY"]


def run_manage(tmp_path, *args, **env):
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "agepar.settings", "VAR_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_debug_off_without_secret_key_refuses_to_start(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="0", ALLOWED_HOSTS="portal.example")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_weak_secret_key_is_refused(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="0", SECRET_KEY="changeme", ALLOWED_HOSTS="portal.example")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_missing_allowed_hosts_is_refused(tmp_path):
    result = run_manage(tmp_path, "check", DEBUG="0", SECRET_KEY=STRONG_KEY)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr


@pytest.mark.parametrize("value", ["ture", "2", "enabled"])
def test_booleans_are_parsed_strictly(tmp_path, value):
    result = run_manage(tmp_path, "check", DEBUG=value)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text(STRONG_KEY + "\n")
    result = run_manage(tmp_path, "check", DEBUG="0", SECRET_KEY_FILE=str(key_file), ALLOWED_HOSTS="portal.example")
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_env(tmp_path):
    result = run_manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING",
                        DEBUG="0", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="portal.example")
    assert result.returncode == 0, result.stdout + result.stderr
