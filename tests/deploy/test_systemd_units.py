"""The systemd units of deploy/systemd/ (README "Deploying", without Docker) hold together:

- systemd's own `systemd-analyze verify` accepts them, installed as the README installs them
  (the repository at /opt/agepar, its virtualenv in /opt/agepar/.venv): syntax, known keys, and
  every ExecStart= executable present;
- every ExecStart= runs a script of the repository or a management command that exists;
- every timer starts a service that is shipped, every service is started by a timer or enabled
  for multi-user.target, and the README enables all of them;
- nothing runs as root, and each service carries the same least-privilege hardening.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from django.core.management import get_commands

from tests.live import ROOT
from tests.tools import require_tools

UNITS = ROOT / "deploy" / "systemd"
INSTALL_DIR = "/opt/agepar"  # README "Deploying": `git clone ... /opt/agepar`, venv in .venv
HARDENING = {"NoNewPrivileges": {"yes", "true"}, "ProtectSystem": {"strict", "full"},
             "ProtectHome": {"yes", "true", "read-only"}, "PrivateTmp": {"yes", "true"}}


def _parse(text: str) -> dict[str, dict[str, list[str]]]:
    """{section: {key: [values]}}; systemd keeps repeated keys, comments and `\\` continuations."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, value = line.split("=", 1)
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _units(suffix: str) -> dict[str, dict]:
    return {path.name: _parse(path.read_text()) for path in sorted(UNITS.glob(f"*{suffix}"))}


SERVICES = _units(".service")
TIMERS = _units(".timer")


def _local(path: str) -> Path:
    """An installed path, on this checkout (the venv of the interpreter running the tests)."""
    if path.startswith(f"{INSTALL_DIR}/.venv/"):
        return Path(sys.prefix) / path.removeprefix(f"{INSTALL_DIR}/.venv/")
    return ROOT / path.removeprefix(f"{INSTALL_DIR}/") if path.startswith(INSTALL_DIR) else Path(path)


def test_the_units_ship_and_the_install_dir_is_the_documented_one():
    assert {"agepar-web.service", "agepar-worker.service", "agepar-requeue-stale.service"} <= set(SERVICES)
    assert TIMERS
    readme = (ROOT / "README.md").read_text()
    assert f"git clone <this repository> {INSTALL_DIR}" in readme and "/etc/agepar/agepar.env" in readme
    for name, unit in SERVICES.items():
        assert unit["Service"]["WorkingDirectory"] == [INSTALL_DIR], name
        assert unit["Service"]["EnvironmentFile"] == ["/etc/agepar/agepar.env"], name


def test_every_exec_start_runs_something_the_repository_has():
    commands = get_commands()
    for name, unit in SERVICES.items():
        for exec_line in unit["Service"]["ExecStart"]:
            words = shlex.split(exec_line.lstrip("-@:+!"))
            program = _local(words[0])
            assert program.is_file() and os.access(program, os.X_OK), f"{name}: {words[0]} is not an executable"
            for script, command in zip(words, words[1:], strict=False):
                if script == "manage.py" or script.endswith("/as-migrator.sh"):
                    assert command in commands, f"{name}: no management command {command}"
            for word in words[1:]:
                if re.fullmatch(r"(?:deploy/)?[\w./-]+\.(?:py|sh)", word):
                    assert (ROOT / word).is_file(), f"{name}: {word} is not in the repository"


def test_every_timer_has_its_service_and_every_service_is_started():
    readme = (ROOT / "README.md").read_text()
    enabled = set(re.search(r"systemctl enable --now ((?:[^\n]*\\\n)*[^\n]*)", readme).group(1)
                  .replace("\\\n", " ").split())
    timed = set()
    for name, timer in TIMERS.items():
        service = timer["Timer"].get("Unit", [name.replace(".timer", ".service")])[0]
        assert service in SERVICES, f"{name} starts {service}, which is not shipped"
        assert timer["Timer"].get("OnCalendar") or timer["Timer"].get("OnUnitActiveSec"), name
        assert "timers.target" in timer["Install"]["WantedBy"], name
        assert name in enabled, f"README does not enable {name}"
        timed.add(service)
    for name, unit in SERVICES.items():
        if name in timed:
            assert unit["Service"].get("Type") == ["oneshot"], f"{name}: a timer's job runs once and ends"
            assert "Install" not in unit, f"{name}: started by its timer, not enabled on its own"
        else:
            assert "multi-user.target" in unit["Install"]["WantedBy"], f"{name}: nothing starts it"
            assert name.removesuffix(".service") in enabled, f"README does not enable {name}"
            assert unit["Service"].get("Restart") == ["always"], f"{name}: a long-running service restarts"


def test_no_unit_runs_as_root_and_each_is_hardened():
    for name, unit in SERVICES.items():
        service = unit["Service"]
        assert service.get("User") == ["agepar"] and service.get("Group") == ["agepar"], name
        for key, allowed in HARDENING.items():
            assert set(service.get(key, [])) & allowed, f"{name}: {key} missing"
        assert service["ReadWritePaths"] == ["/var/lib/agepar"], name
        assert not any(command.startswith(("+", "!")) for command in service["ExecStart"]), \
            f"{name}: a +/! prefix runs it with full privileges"


def test_systemd_analyze_verify_accepts_the_installed_units(tmp_path):
    """Installed as the README says, with /opt/agepar standing for this checkout."""
    require_tools("systemd-analyze", installed_by="Debian's systemd")
    tool = shutil.which("systemd-analyze")
    for path in UNITS.iterdir():
        text = path.read_text().replace(f"{INSTALL_DIR}/.venv/", f"{sys.prefix}/").replace(INSTALL_DIR, str(ROOT))
        (tmp_path / path.name).write_text(text)
    units = sorted(str(path) for path in tmp_path.iterdir())
    result = subprocess.run([tool, "verify", *units], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
