"""Whoever owns the database changes the sealed trail past its append-only
triggers; `verify_audits` exits non-zero naming the first range that no longer matches. The suite
runs on SQLite and on PostgreSQL (on PostgreSQL the triggers are disabled as the table owner may).

The trail (tests/audits/trails.py) is sealed five events at a time into seals over ids 1–5, 6–10,
11–16, 17–19 (the January part), 20–24, 25–29, 30–31; most tampering hits event 13, in 11–16.
"""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audits.encoding import seal_hash
from audits.models import AuditEvent, AuditSeal
from audits.seals import seal_audits
from tests.audits.trails import GAP, SEALS, add_events, as_owner, build_trail, event

pytestmark = [pytest.mark.django_db, pytest.mark.owner]


@pytest.fixture
def sealed():
    build_trail()
    seal_audits(max_events=5)
    assert list(AuditSeal.objects.order_by("number").values_list("first_id", "last_id")) == SEALS


def verify(*args) -> tuple[bool, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("verify_audits", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return False, f"{exc}\n{err.getvalue()}"
    return True, out.getvalue()


def first_bad_range(*args) -> str:
    ok, message = verify(*args)
    assert not ok, message
    return message.split("first bad range: ", 1)[1].splitlines()[0]


def _flip_last(text: str) -> str:
    return text[:-1] + chr(ord(text[-1]) ^ 1)


# One byte of one column of event 13 (status is CHECKed: its other value instead).
CHANGES = {
    "id": lambda e: GAP,
    "at": lambda e: e.at + timedelta(microseconds=1),
    "actor": lambda e: e.actor_id + 1,
    "actor_label": lambda e: _flip_last(e.actor_label),
    "action": lambda e: _flip_last(e.action),
    "status": lambda e: "success" if e.status == "failure" else "failure",
    "kind": lambda e: _flip_last(e.kind),
    "target_type": lambda e: _flip_last(e.target_type),
    "target_id": lambda e: _flip_last(e.target_id),
    "session_public_id": lambda e: uuid.UUID(int=e.session_public_id.int ^ 1),
    "ip": lambda e: _flip_last(e.ip),
    "user_agent": lambda e: _flip_last(e.user_agent),
    "request_id": lambda e: _flip_last(e.request_id),
    "details": lambda e: {**e.details, "n": e.details["n"] - 1},
}


def test_an_intact_trail_verifies(sealed):
    ok, output = verify()
    assert ok, output
    assert "audit trail intact: 7 seals, 7 verified (30 events), 0 pruned, 7 events not sealed yet" in output


def test_every_column_is_covered(sealed):
    assert sorted(CHANGES) == sorted(f.name for f in AuditEvent._meta.concrete_fields)


@pytest.mark.parametrize("column", sorted(CHANGES))
def test_one_changed_column_of_one_event_is_caught(sealed, column):
    original = AuditEvent.objects.get(pk=13)
    field = AuditEvent._meta.get_field(column)
    value = field.get_db_prep_value(CHANGES[column](original), connection, prepared=False)
    with as_owner() as cursor:
        cursor.execute(f"UPDATE audits_auditevent SET {field.column} = %s WHERE id = 13", [value])  # noqa: S608
        assert cursor.rowcount == 1
    assert first_bad_range() == "events 11–16: seal 3: events changed, replaced or reordered (the Merkle root differs)"


def test_a_deleted_event_is_caught(sealed):
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = 13")
    assert first_bad_range() == "events 11–16: seal 3: 1 event(s) missing (4 found, 5 sealed)"


def test_an_event_inserted_into_a_sealed_range_is_caught(sealed):
    # Into the id a rolled-back transaction left free, back-dated among its neighbours.
    with as_owner():
        add_events([event(GAP, actor_label="quem.nunca.entrou@agepar.go.gov.br")])
    assert first_bad_range() == "events 11–16: seal 3: 1 event(s) more than were sealed (6 found, 5 sealed)"


def test_two_swapped_ids_are_caught(sealed):
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditevent SET id = -12 WHERE id = 12")
        cursor.execute("UPDATE audits_auditevent SET id = 12 WHERE id = 13")
        cursor.execute("UPDATE audits_auditevent SET id = 13 WHERE id = -12")
    assert first_bad_range() == "events 11–16: seal 3: events changed, replaced or reordered (the Merkle root differs)"


def test_an_altered_seal_is_caught(sealed):
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditseal SET count = 4 WHERE number = 3")
    assert first_bad_range() == "events 11–16: seal 3 was altered: its hash does not match it"


def test_a_seal_rewritten_with_its_hash_and_event_is_caught(sealed):
    # The owner deletes event 13 and rewrites seal 3 to match, hash and audit.sealed event included.
    seal = AuditSeal.objects.get(number=3)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = 13")
    from audits.encoding import event_bytes, instant, leaf_hash, merkle_root
    from audits.seals import event_rows, seal_details

    root = merkle_root([leaf_hash(event_bytes(row)) for row in event_rows(connection, 10, 16)])
    values = {"first_id": 11, "last_id": 16, "count": 4, "last_at": instant(seal.last_at), "root": root,
              "prev": seal.prev}
    digest = seal_hash(number=3, **values)
    details = AuditEvent._meta.get_field("details").get_db_prep_value(seal_details(3, values, digest), connection)
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditseal SET count = 4, root = %s, hash = %s WHERE number = 3", [root, digest])
        cursor.execute("UPDATE audits_auditevent SET details = %s WHERE id = %s", [details, seal.event_id])
    # Seal 3 now matches its events; the chain does not: seal 4 still holds the old seal 3's hash.
    assert first_bad_range() == "events 11–19: seal 4 does not follow seal 3: its prev is not that seal's hash"


def test_an_altered_seal_event_is_caught(sealed):
    seal = AuditSeal.objects.get(number=3)
    details = {**AuditEvent.objects.get(pk=seal.event_id).details, "count": 4}
    value = AuditEvent._meta.get_field("details").get_db_prep_value(details, connection)
    with as_owner() as cursor:
        cursor.execute("UPDATE audits_auditevent SET details = %s WHERE id = %s", [value, seal.event_id])
    assert first_bad_range() == f"events 11–16: seal 3 differs from its audit.sealed event #{seal.event_id}"


@pytest.mark.parametrize("with_its_event", [False, True], ids=["seal row", "seal row and its event"])
def test_a_deleted_seal_is_caught(sealed, with_its_event):
    seal = AuditSeal.objects.get(number=3)
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditseal WHERE number = 3")
        if with_its_event:
            cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [seal.event_id])
    assert first_bad_range() == "events 11–16: seal 3 missing: seal 4 follows seal 2"


def test_a_seal_event_without_its_seal_is_caught(sealed):
    # A forged audit.sealed event in the unsealed tail (as if a seal had been deleted with its row).
    AuditEvent.objects.create(action="audit.sealed", actor_label="system:seal_audits", kind="audit",
                              details={"seal": 8})
    forged = AuditEvent.objects.latest("id").pk
    expected = f"events {forged}–{forged}: audit.sealed event #{forged} belongs to no seal of the chain"
    assert first_bad_range() == expected


def test_the_database_still_refuses_rewrites_after_tampering(sealed):
    from django.db import IntegrityError, transaction

    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = 13")
    for sql in ("UPDATE audits_auditevent SET action = 'x.y' WHERE id = 12", "DELETE FROM audits_auditseal"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql)


def test_from_seal_recomputes_only_later_seals_but_walks_the_whole_chain(sealed):
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = 7")
    assert first_bad_range("--from-seal", "2").startswith("events 6–10: seal 2: 1 event(s) missing")
    ok, output = verify("--from-seal", "3")
    assert ok and "7 seals, 5 verified (20 events)" in output, output
    with as_owner() as cursor:
        cursor.execute("DELETE FROM audits_auditseal WHERE number = 1")
    assert first_bad_range("--from-seal", "3") == "events 1–5: seal 1 missing: seal 2 follows seal none"


def test_from_seal_must_name_a_seal(sealed):
    with pytest.raises(CommandError, match="Não existe o selo 99"):
        call_command("verify_audits", "--from-seal", "99", stdout=StringIO())
