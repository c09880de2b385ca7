"""manage.py seal_audits: the events since the last seal, in ranges that tile the ids, at most N per seal and
one calendar month per seal, each seal chained to the previous one and written as an audit.sealed event."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from audits.encoding import GENESIS, instant, seal_hash
from audits.models import AppendOnlyError, AuditEvent, AuditSeal
from audits.seals import seal_audits
from audits.services import record
from tests.audits.trails import GAP, SEALS, START, build_trail

pytestmark = pytest.mark.django_db


def _seal(*args) -> str:
    out = StringIO()
    call_command("seal_audits", *args, stdout=out)
    return out.getvalue()


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_seals_tile_the_ids_hold_at_most_n_events_and_never_two_months():
    build_trail()
    output = _seal("--max-events", "5")
    seals = list(AuditSeal.objects.order_by("number"))
    assert [(s.first_id, s.last_id) for s in seals] == SEALS
    assert [s.count for s in seals] == [5, 5, 5, 3, 5, 5, 2]  # seal 3 spans the unused id 14
    assert GAP in range(seals[2].first_id, seals[2].last_id + 1)
    assert [instant(s.last_at)[:7] for s in seals] == ["2026-01"] * 4 + ["2026-02"] * 3
    assert instant(seals[3].last_at) == instant(START + timedelta(seconds=57))
    assert "sealed 30 events (ids 1-31) in 7 seals, 1-7" in output


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_each_seal_holds_the_previous_ones_hash_and_its_own_is_recomputable():
    build_trail()
    seal_audits(max_events=5)
    prev = GENESIS
    for seal in AuditSeal.objects.order_by("number"):
        assert seal.prev == prev and seal.version == 1
        assert seal.hash == seal_hash(number=seal.number, first_id=seal.first_id, last_id=seal.last_id,
                                      count=seal.count, last_at=instant(seal.last_at), root=seal.root, prev=seal.prev)
        prev = seal.hash


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_each_seal_is_written_to_the_trail_as_an_audit_sealed_event():
    build_trail()
    seal_audits(max_events=5)
    seal = AuditSeal.objects.get(number=3)
    event = AuditEvent.objects.get(pk=seal.event_id)
    assert (event.action, event.kind, event.actor_label) == ("audit.sealed", "audit", "system:seal_audits")
    assert (event.target_type, event.target_id) == ("audits.auditseal", "3")
    assert event.details == {"seal": 3, "version": 1, "first_id": 11, "last_id": 16, "count": 5,
                             "last_at": instant(seal.last_at), "root": seal.root, "prev": seal.prev, "hash": seal.hash}


@pytest.mark.owner  # a trail with ids of its own moves the id sequence (trails.add_events): the owner's right
def test_a_later_run_seals_what_came_since_including_the_seal_events():
    build_trail()
    seal_audits(max_events=5)
    late = record("auth.login", actor_label="depois@agepar.go.gov.br", kind="auth")
    [seal] = seal_audits()
    assert (seal.number, seal.first_id, seal.last_id, seal.count) == (8, 32, late.pk, 8)
    assert seal.prev == AuditSeal.objects.get(number=7).hash


def test_nothing_to_seal_is_said_and_changes_nothing():
    assert _seal().strip() == "nothing to seal"
    assert not AuditSeal.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", ["0", "-3", "x"])
def test_max_events_must_be_positive(value):
    with pytest.raises(CommandError):
        _seal("--max-events", value)


@pytest.mark.owner  # the app role is refused earlier, by the missing privilege
def test_seals_are_append_only():
    record("auth.login", kind="auth")
    [seal] = seal_audits()
    with pytest.raises(AppendOnlyError):
        seal.save()
    with pytest.raises(AppendOnlyError):
        AuditSeal.objects.filter(pk=seal.pk).update(root="0" * 64)
    with pytest.raises(AppendOnlyError):
        AuditSeal.objects.filter(pk=seal.pk).delete()
    for sql in ("UPDATE audits_auditseal SET count = 2", "DELETE FROM audits_auditseal"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditSeal.objects.get().root == seal.root
