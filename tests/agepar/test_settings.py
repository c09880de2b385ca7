"""The process refuses unsafe production configuration, and the safe one passes check --deploy."""

import json
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


def _database_settings(tmp_path, **env) -> dict:
    code = ("import json; from django.conf import settings; d = settings.DATABASES['default']; "
            "print(json.dumps({'pool': d['OPTIONS'].get('pool'), 'max_age': d.get('CONN_MAX_AGE'), "
            "'no_cursors': d.get('DISABLE_SERVER_SIDE_CURSORS', False), "
            "'prepare': d['OPTIONS'].get('prepare_threshold', 'default')}))")
    result = run_manage(tmp_path, "shell", "-c", code, DEBUG="1",
                        DATABASE_URL="postgresql://agepar@127.0.0.1:6432/agepar", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])  # after the shell's own "objects imported" line


def test_postgres_defaults_to_django_pool_with_server_side_cursors(tmp_path):
    settings = _database_settings(tmp_path)
    assert settings["pool"] and settings["no_cursors"] is False and settings["prepare"] == "default"


def test_pgbouncer_transaction_mode_switch(tmp_path):
    # docs/scaling.md "pgBouncer": no second pool, no named cursors, no prepared statements.
    settings = _database_settings(tmp_path, DB_POOL="0", DB_DISABLE_SERVER_SIDE_CURSORS="1",
                                  DB_PREPARE_THRESHOLD="none")
    assert settings == {"pool": None, "max_age": 60, "no_cursors": True, "prepare": None}


def test_prepare_threshold_must_be_none_or_a_number(tmp_path):
    assert _database_settings(tmp_path, DB_PREPARE_THRESHOLD="3")["prepare"] == 3
    result = run_manage(tmp_path, "check", DEBUG="1", DATABASE_URL="postgresql://a@127.0.0.1/b",
                        DB_PREPARE_THRESHOLD="never")
    assert result.returncode != 0 and "DB_PREPARE_THRESHOLD must be an integer" in result.stderr


def _development_key(var_dir) -> str:
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "agepar.settings", "VAR_DIR": str(var_dir),
           "DEBUG": "1"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_importing_the_settings_creates_and_writes_nothing(tmp_path):
    var = tmp_path / "var"
    first, second = _development_key(var), _development_key(var)
    assert not var.exists()  # no folder, no development key file
    assert len(first) >= 50 and first != second  # without the file, a key for that process only


def test_the_development_key_is_the_one_make_run_keeps(tmp_path):
    # deploy/run-dev.sh writes it once, so the web server and the worker agree and sessions survive restarts.
    (tmp_path / "dev-secret-key").write_text("k" * 20 + "ey-of-this-checkout-" * 3 + "\n")
    assert _development_key(tmp_path) == "k" * 20 + "ey-of-this-checkout-" * 3
