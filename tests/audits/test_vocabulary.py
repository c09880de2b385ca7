"""Every action the code records is in the documented vocabulary (audits/actions.py)."""

import re
from pathlib import Path

from audits.actions import ACTIONS
from audits.services import _ACTION

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r"""\brecord\(\s*["']([^"']+)["']""")


def test_every_listed_action_is_a_dotted_name():
    assert [name for name in ACTIONS if not _ACTION.match(name)] == []


def test_every_recorded_action_is_listed():
    sources = [path for app in ("accounts", "audits", "submissions", "fileshare", "agepar")
               for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]
    recorded = {name for path in sources for name in RECORDED.findall(path.read_text())}
    assert "auth.login" in recorded and "audit.pruned" in recorded  # the scan does find the calls
    assert sorted(recorded - set(ACTIONS)) == []
