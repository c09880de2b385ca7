"""`--help` on every shipped script prints its usage and does nothing else (backup.sh --help used to
run a backup)."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.live import ROOT

SCRIPTS = sorted(path for path in (ROOT / "deploy").rglob("*.sh") if path.name != "lib.sh")


def test_every_script_is_covered():
    assert {"backup.sh", "restore.sh", "as-migrator.sh", "apply-roles.sh"} <= {path.name for path in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_help_prints_usage_and_does_nothing(script: Path, tmp_path):
    work = tmp_path / "untouched"
    env = {"PATH": os.environ["PATH"], "BACKUP_DIR": str(work / "backups"), "UPLOAD_ROOT": str(work / "uploads"),
           "DATABASE_URL": f"sqlite:///{work}/db.sqlite3", "VAR_DIR": str(work / "var"),
           "PY": "/bin/false", "PYTHON": "/bin/false"}  # anything beyond the usage would fail or write
    for flag in ("--help", "-h"):
        result = subprocess.run([str(script), flag], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.strip().splitlines()) >= 2, result.stdout
        assert not result.stdout.startswith(("#!", "set -")), result.stdout
    assert not work.exists()
