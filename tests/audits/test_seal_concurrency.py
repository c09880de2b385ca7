"""Events committed while the trail is being sealed never make verification
fail, and sealing never makes a writer wait (PostgreSQL, real threads and connections).

On PostgreSQL an event's id is taken when it is inserted, not when it commits, so a lower id can
commit after a higher one is visible; the sealer waits for such transactions (audits/seals.py,
`settled_horizon`). SQLite has one writer at a time and needs no waiting.
"""

import random
import threading

import pytest
from django.db import connection, transaction

from audits.models import AuditEvent, AuditSeal
from audits.seals import SealWaitTimeout, seal_audits
from audits.services import record, seal_lock
from audits.verification import verify_trail

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test: PostgreSQL")


def _in_thread(target) -> threading.Thread:
    def run():
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_seal_never_passes_a_lower_id_still_to_commit():
    record("auth.login", actor_label="antes@agepar.go.gov.br")
    held, release, late = threading.Event(), threading.Event(), {}

    def late_writer():
        with transaction.atomic():
            late["id"] = record("auth.login", actor_label="tarde@agepar.go.gov.br").pk
            held.set()
            release.wait(60)

    writer = _in_thread(late_writer)
    try:
        assert held.wait(30)
        early = record("auth.login", actor_label="cedo@agepar.go.gov.br").pk
        assert early > late["id"]  # the higher id is visible, the lower one not yet committed
        with pytest.raises(SealWaitTimeout, match="backend pid"):
            seal_audits(wait_timeout=0.2)
        assert not AuditSeal.objects.exists()
    finally:
        release.set()
        writer.join()
    [seal] = seal_audits()
    assert seal.last_id == early and seal.count == 3
    assert verify_trail().ok


def test_writers_committing_late_and_rolling_back_while_seals_are_made_cause_no_false_alarm():
    done, failures, made = threading.Event(), [], []
    commits = rollbacks = 0
    lock = threading.Lock()

    def writer(seed: int):
        nonlocal commits, rollbacks
        chance = random.Random(seed)
        for i in range(15):
            try:
                with transaction.atomic():
                    record("submission.created", actor_label=f"w{seed}-{i}@agepar.go.gov.br", kind="form2json")
                    # Open long enough that seals are made meanwhile: ids commit out of order.
                    threading.Event().wait(chance.random() * 0.2)
                    if chance.random() < 0.5:
                        record("submission.started", actor_label=f"w{seed}-{i}@agepar.go.gov.br", kind="form2json")
                    if chance.random() < 0.2:
                        raise LookupError("rolled back: its ids stay unused")
                with lock:
                    commits += 1
            except LookupError:
                with lock:
                    rollbacks += 1

    def sealer():
        while not done.is_set():
            try:
                made.extend(seal_audits(max_events=7, wait_timeout=30))
            except Exception as exc:  # noqa: BLE001 (reported by the test below)
                failures.append(exc)
                return

    writers = [_in_thread(lambda seed=seed: writer(seed)) for seed in range(6)]
    sealing = _in_thread(sealer)
    for thread in writers:
        thread.join()
    done.set()
    sealing.join()
    assert failures == []
    made.extend(seal_audits(max_events=7))
    assert commits > 0 and rollbacks > 0
    # Seals were made while the writers were writing, not only at the end.
    assert len({seal.number for seal in made}) > 3
    report = verify_trail()
    assert report.ok, [str(p) for p in report.problems]
    assert report.verified == AuditSeal.objects.count()
    assert report.events + report.unsealed == AuditEvent.objects.count()  # only the last seals' events are not sealed


def test_writers_never_wait_for_a_seal_in_progress():
    sealing, release = threading.Event(), threading.Event()

    def slow_seal():
        with transaction.atomic():
            seal_lock(connection)
            record("audit.sealed", actor_label="system:seal_audits", kind="audit")
            sealing.set()
            release.wait(60)

    sealer = _in_thread(slow_seal)
    try:
        assert sealing.wait(30)
        with transaction.atomic(), connection.cursor() as cursor:
            # A lock wait would fail this statement after 2 s instead of hanging the test.
            cursor.execute("SET LOCAL lock_timeout = '2s'")
            event = record("auth.login", actor_label="escritor@agepar.go.gov.br")
        assert AuditEvent.objects.filter(pk=event.pk).exists()
    finally:
        release.set()
        sealer.join()
