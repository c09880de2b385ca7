"""Every action the code records is in the documented vocabulary (audits/actions.py)."""

import ast
import re
from pathlib import Path

from audits.actions import ACTIONS, DETAIL_LABELS
from audits.services import _ACTION

ROOT = Path(__file__).resolve().parents[2]
RECORDED = re.compile(r"""\brecord\(\s*["']([^"']+)["']""")


def test_every_listed_action_is_a_dotted_name():
    assert [name for name in ACTIONS if not _ACTION.match(name)] == []


def sources() -> list[Path]:
    return [path for app in ("accounts", "audits", "submissions", "fileshare", "agepar")
            for path in (ROOT / app).rglob("*.py") if "migrations" not in path.parts]


def test_every_recorded_action_is_listed():
    recorded = {name for path in sources() for name in RECORDED.findall(path.read_text())}
    assert "auth.login" in recorded and "audit.pruned" in recorded  # the scan does find the calls
    assert sorted(recorded - set(ACTIONS)) == []


def written_detail_keys(tree: ast.AST) -> set[str]:
    """Keys written in place as `details=`: dict literals and keyword arguments of the calls building them
    (`_details(submission, attempt=...)`). Details handed over in a variable are labelled by hand."""
    keys = set()
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        for value in (keyword.value for keyword in call.keywords if keyword.arg == "details"):
            for node in ast.walk(value):
                if isinstance(node, ast.Dict):
                    keys |= {key.value for key in node.keys if isinstance(key, ast.Constant)}
                elif isinstance(node, ast.Call):
                    keys |= {keyword.arg for keyword in node.keywords if keyword.arg}
    return keys


def test_every_detail_key_written_in_place_has_a_label():
    # The admin shows an event's details labelled by key (audits.admin); an unlabelled key reads as code.
    written = set().union(*(written_detail_keys(ast.parse(path.read_text())) for path in sources()))
    assert {"reason", "sessions_revoked", "attempt"} <= written  # the scan does find them
    assert sorted(written - set(DETAIL_LABELS)) == []
