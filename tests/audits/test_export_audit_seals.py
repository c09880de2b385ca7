"""manage.py export_audit_seals and verify_audits --anchor: a seal kept outside the database catches
what the trail cannot see alone — its newest seals removed or rewritten as a whole."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audits.models import AuditEvent, AuditSeal
from audits.seals import seal_audits
from audits.services import record
from audits.verification import Anchor
from tests.audits.trails import as_owner, build_trail

pytestmark = pytest.mark.django_db


def _export(*args) -> str:
    out = StringIO()
    call_command("export_audit_seals", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def anchor(tmp_path):
    build_trail()
    seal_audits(max_events=5)
    path = tmp_path / "selo.txt"
    path.write_text(_export(), encoding="utf-8")
    return path


def _verify_with(path) -> str:
    """"ok", or the failure with every problem found."""
    problems = StringIO()
    try:
        call_command("verify_audits", "--anchor", str(path), stdout=StringIO(), stderr=problems)
    except CommandError as exc:
        return f"{exc}\n{problems.getvalue()}"
    return "ok"


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_the_export_is_a_readable_record_of_the_latest_seal(anchor):
    text = anchor.read_text()
    seal = AuditSeal.objects.get(number=7)
    assert text.startswith("# Portal AGEPAR: audit trail seal.")
    for line in ("seal: 7", "version: 1", "first_id: 30", "last_id: 31", "count: 2", f"root: {seal.root}",
                 f"prev: {seal.prev}", f"hash: {seal.hash}"):
        assert f"\n{line}\n" in text
    assert Anchor.parse(text) == Anchor.of(seal)
    assert Anchor.parse(_export("--seal", "3")) == Anchor.of(AuditSeal.objects.get(number=3))


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_the_trail_verifies_against_its_anchor_and_later_seals(anchor):
    assert _verify_with(anchor) == "ok"
    record("auth.login", kind="auth")
    seal_audits()
    assert _verify_with(anchor) == "ok"


@pytest.mark.owner
def test_removing_the_newest_seal_whole_is_caught_only_by_the_anchor(anchor):
    seal = AuditSeal.objects.get(number=7)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditseal WHERE number = 7")
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [seal.event_id])
    ok = StringIO()
    call_command("verify_audits", stdout=ok)  # the rest is a consistent, shorter chain
    assert "audit trail intact: 6 seals" in ok.getvalue()
    assert "events 30–31: anchor seal 7 is not in the trail (the chain ends at seal 6)" in _verify_with(anchor)


@pytest.mark.owner
def test_a_rewritten_newest_seal_is_caught_by_the_anchor(anchor):
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditseal SET root = %s WHERE number = 7", ["f" * 64])
    assert "seal 7 differs from the anchor" in _verify_with(anchor)


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_a_damaged_or_foreign_anchor_is_refused(anchor, tmp_path):
    damaged = tmp_path / "damaged.txt"
    damaged.write_text(anchor.read_text().replace("count: 2", "count: 3"))
    assert "the anchor of seal 7 is damaged" in _verify_with(damaged)
    for text in ("", "seal: 7\n", anchor.read_text().replace("seal: 7", "seal: sete")):
        bad = tmp_path / "bad.txt"
        bad.write_text(text)
        with pytest.raises(CommandError, match="not a seal export"):
            call_command("verify_audits", "--anchor", str(bad), stdout=StringIO())
    with pytest.raises(CommandError, match="--anchor"):
        call_command("verify_audits", "--anchor", str(tmp_path / "missing.txt"), stdout=StringIO())


def test_export_without_seals_fails_clearly(db):
    with pytest.raises(CommandError, match="nothing is sealed yet"):
        _export()
    record("auth.login", kind="auth")
    seal_audits()
    with pytest.raises(CommandError, match="there is no seal 5"):
        _export("--seal", "5")
    assert AuditEvent.objects.count() == 2
