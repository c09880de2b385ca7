"""The seal encoding (docs/audit-seals.md, version 1): the documented example byte for byte, the
same bytes on SQLite and PostgreSQL (this module runs on both), values rather than storage, and a
standalone verifier written from the page that agrees with the application."""

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from audits.encoding import event_bytes, leaf_hash, merkle_root
from audits.models import AuditEvent, AuditSeal
from audits.seals import event_rows, seal_audits
from audits.services import record
from tests import live
from tests.audits.trails import add_events, as_owner, build_trail, event

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-seals.md"
VERIFIER = live.ROOT / "deploy" / "verify-audit-seals.py"

EXAMPLE_42 = ('[1,42,"2026-03-01T12:00:00.005000Z",7,"ana@agepar.go.gov.br","auth.login","success","auth","","",'
              '"6f1c8a52-3f7e-4c8a-9a51-1f9a8e1f3b10","2001:0db8:0000:0000:0000:0000:0000:0001","Firefox/140","",'
              '{"nota":"ação \\"ok\\"\\n","peso":0.1,"tentativas":2,"via":"senha"}]')
EXAMPLE_43 = ('[1,43,"2026-03-01T12:00:01.250000Z",null,"anonymous","auth.login","failure","auth","","",null,null,"",'
              '"req-1",{}]')
LEAF_42 = "5b3856bee425c678ee1c6eca05a043028c3cd8e3e2c08c528ce9f689016e7588"
LEAF_43 = "9a94720cbc7a837f048a4d5ea88559b7d529160c999d1f61fc534681212bd3ba"
ROOT = "d949c9a35ed46808fa5c2c7f46da77090b570356980257f79d6b12adfbf7fc1e"
HASH = "13f773d6bd789e629f86eaf4737be506f599a0c3163010d5fc6a785dc1dc5f24"


def _encoded(event_id: int) -> bytes:
    [row] = event_rows(connection, event_id - 1, event_id)
    return event_bytes(row)


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
@pytest.mark.django_db
def test_the_documented_example_encodes_and_seals_byte_for_byte():
    add_events([
        AuditEvent(id=42, at=datetime(2026, 3, 1, 12, 0, 0, 5000, tzinfo=UTC), actor_id=7,
                   actor_label="ana@agepar.go.gov.br", action="auth.login", kind="auth",
                   session_public_id="6f1c8a52-3f7e-4c8a-9a51-1f9a8e1f3b10", ip="2001:db8::1", user_agent="Firefox/140",
                   details={"via": "senha", "tentativas": 2.0, "nota": 'ação "ok"\n', "peso": 0.1}),
        AuditEvent(id=43, at=datetime(2026, 3, 1, 12, 0, 1, 250000, tzinfo=UTC), actor_label="anonymous",
                   action="auth.login", status="failure", kind="auth", request_id="req-1"),
    ])
    assert _encoded(42) == EXAMPLE_42.encode()
    assert _encoded(43) == EXAMPLE_43.encode()
    assert leaf_hash(_encoded(42)).hex() == LEAF_42 and leaf_hash(_encoded(43)).hex() == LEAF_43
    [seal] = seal_audits()
    assert (seal.first_id, seal.last_id, seal.count, seal.root, seal.hash) == (1, 43, 2, ROOT, HASH)
    doc = DOC.read_text()
    for text in (EXAMPLE_42, EXAMPLE_43, LEAF_42, LEAF_43, ROOT, HASH):
        assert text in doc


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
@pytest.mark.django_db
def test_numbers_are_encoded_by_value_however_they_were_written():
    add_events([event(1, details={"a": 2.0, "b": 2, "c": 1e16, "d": -0.0, "e": 0.000001, "f": [0.1, -2.5]}),
                event(2, details={"a": 2, "b": 2.0, "c": 10**16, "d": 0, "e": 1e-06, "f": [0.1, -2.5]})])
    for event_id in (1, 2):
        encoded = _encoded(event_id)
        details = encoded[encoded.rindex(b",{"):]
        assert details == b',{"a":2,"b":2,"c":10000000000000000,"d":0,"e":1e-06,"f":[0.1,-2.5]}]'


def test_null_and_the_empty_string_encode_differently():
    row = [5, "2026-03-01 12:00:00", None, "anonymous", "auth.login", "success", "", "", "", None, None, "", "", "{}"]
    as_empty = [*row[:10], "", *row[11:]]
    assert b",null,null," in event_bytes(row) and b',null,"",' in event_bytes(as_empty)
    assert leaf_hash(event_bytes(row)) != leaf_hash(event_bytes(as_empty))


@pytest.mark.django_db
def test_the_database_clock_is_encoded_to_the_microsecond_in_utc():
    # `at` left to the database: SQLite's clock keeps milliseconds, PostgreSQL's microseconds.
    stamped = record("auth.login", actor_label="relogio@agepar.go.gov.br", kind="auth")
    at = json.loads(_encoded(stamped.pk))[2]
    assert len(at) == len("2026-03-01T12:00:00.000000Z") and at.endswith("Z")
    assert datetime.fromisoformat(at) == AuditEvent.objects.get(pk=stamped.pk).at


def _rfc6962(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _rfc6962(leaves[:k]) + _rfc6962(leaves[k:])).digest()


@pytest.mark.parametrize("n", range(1, 18))
def test_the_merkle_root_is_rfc_6962s_tree_hash(n):
    leaves = [leaf_hash(str(i).encode()) for i in range(n)]
    assert merkle_root(leaves) == _rfc6962(leaves).hex()


def _standalone(*args: str) -> subprocess.CompletedProcess:
    source = (["--psql", live.test_database_url()] if connection.vendor == "postgresql"
              else ["--sqlite", connection.settings_dict["NAME"]])
    return subprocess.run([sys.executable, str(VERIFIER), *source, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.owner
@pytest.mark.django_db(transaction=True)  # committed, for the verifier's own connection
def test_the_standalone_verifier_agrees_with_the_application(tmp_path):
    build_trail()
    seal_audits(max_events=5)
    record("auth.login", actor_label="depois@agepar.go.gov.br", kind="auth")
    checked = _standalone()
    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[:3] == ["seal 1 events 1-5: ok", "seal 2 events 6-10: ok", "seal 3 events 11-16: ok"]
    assert lines[-1] == "7 seals, 0 bad, 8 events after the last seal"
    assert AuditSeal.objects.count() == 7

    anchor = tmp_path / "anchor.txt"
    from django.core.management import call_command
    with anchor.open("w") as out:
        call_command("export_audit_seals", stdout=out)
    assert _standalone("--anchor", str(anchor)).stdout.splitlines()[-1] == "anchor seal 7: held"

    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditevent SET user_agent = 'Firefox/141' WHERE id = 13")
    tampered = _standalone()
    assert tampered.returncode == 1
    assert "seal 3 events 11-16: Merkle root differs" in tampered.stdout


@pytest.mark.owner
@pytest.mark.django_db(transaction=True)
def test_a_lone_surrogate_only_sqlite_can_hold_is_escaped_the_same_by_both_verifiers():
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL refuses lone surrogates in text and jsonb")
    add_events([event(1)])
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditevent SET details = %s WHERE id = 1", ['{"x": "\\ud800"}'])
    assert b'{"x":"\\ud800"}' in _encoded(1)
    seal_audits()
    checked = _standalone()
    assert checked.returncode == 0 and "seal 1 events 1-1: ok" in checked.stdout, checked.stdout + checked.stderr
