"""The hashed locks agree with the requirements they were compiled from (a forgotten `make lock`)."""

import re

from tests.live import ROOT


def _pins(path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            pins[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return pins


def test_every_direct_pin_is_in_its_lock_with_hashes():
    for requirements, lock in [("requirements.txt", "requirements.lock"),
                               ("requirements.txt", "requirements-dev.lock"),
                               ("requirements-dev.txt", "requirements-dev.lock")]:
        wanted, locked = _pins(ROOT / requirements), _pins(ROOT / lock)
        assert wanted, requirements
        mismatched = {name: (version, locked.get(name)) for name, version in wanted.items()
                      if locked.get(name) != version}
        assert not mismatched, f"{lock} is stale for {requirements} (run make lock): {mismatched}"
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text()
        entries = re.findall(r"^[A-Za-z0-9_.-]+==\S+(?: \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n?)+)", text, re.M)
        assert len(entries) == len(_pins(ROOT / lock)), f"{lock}: an entry without hashes"
        assert "file://" not in text and "--find-links" not in text  # nothing of this machine's
