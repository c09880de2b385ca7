"""`--help` on every shipped script prints its usage and does nothing else (backup.sh --help used to
run a backup): the shell scripts in deploy/ and the Python ones (run with this interpreter, as
deploy/lib.sh runs them; gunicorn.conf.py is a configuration file, not a script)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import ROOT

SCRIPTS = sorted(path for path in (ROOT / "deploy").rglob("*") if path.suffix in (".sh", ".py")
                 and path.name not in ("lib.sh", "gunicorn.conf.py"))


def test_every_script_is_covered():
    assert {"backup.sh", "restore.sh", "restore-test.sh", "scheduler.sh", "as-migrator.sh", "apply-roles.sh",
            "s3copy.py", "backup-inventory.py", "healthcheck.py"} <= {path.name for path in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_help_prints_usage_and_does_nothing(script: Path, tmp_path):
    work = tmp_path / "untouched"
    env = {"PATH": os.environ["PATH"], "BACKUP_DIR": str(work / "backups"), "UPLOAD_ROOT": str(work / "uploads"),
           "DATABASE_URL": f"sqlite:///{work}/db.sqlite3", "VAR_DIR": str(work / "var"),
           "PY": "/bin/false", "PYTHON": "/bin/false"}  # anything beyond the usage would fail or write
    for flag in ("--help", "-h"):
        command = [sys.executable, str(script)] if script.suffix == ".py" else [str(script)]
        result = subprocess.run([*command, flag], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.strip().splitlines()) >= 2, result.stdout
        assert not result.stdout.startswith(("#!", "set -")), result.stdout
    assert not work.exists()
