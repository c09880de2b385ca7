"""Real workers: exactly-once runs under concurrency (must-show 4) and recovery after SIGKILL (must-show 5)."""

import os
import signal
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from audits.models import AuditEvent
from submissions import services
from submissions.models import Submission, WorkerHeartbeat
from submissions.tasks import run_submission
from tests.factories import UserFactory
from tests.submissions.conftest import FORM
from tests.submissions.helpers import db_worker, make_submission, wait_for

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
SLOW = "tests.submissions.slow_automation"
OUTCOME = "tests.submissions.outcome_automation"


def started_per_submission():
    return Counter(dict(AuditEvent.objects.filter(action="submission.started")
                        .values_list("target_id").annotate(n=Count("id")).values_list("target_id", "n")))


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency test: PostgreSQL")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_claiming_the_same_rows_each_win_once(postgres_only):
    actor = UserFactory(roles=["automations.form2json"])
    ids = [make_submission(actor).pk for _ in range(200)]
    wins = Counter()
    barrier = threading.Barrier(8)

    def claim_all(order):
        try:
            barrier.wait()
            for pk in order:
                if services.submission_claim(submission_id=pk) is not None:
                    wins[pk] += 1
        finally:
            connection.close()

    # Every thread walks all 200 rows (half of them backwards), so each row is fought over.
    threads = [threading.Thread(target=claim_all, args=(ids if i % 2 else ids[::-1],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(ids) and set(wins.values()) == {1}
    assert set(started_per_submission().values()) == {1}
    assert Submission.objects.filter(status="running", attempts=1).count() == 200


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_worker_processes_run_each_of_200_submissions_exactly_once(postgres_only, tmp_path, settings):
    settings.TASKS = DB_TASKS
    actor = UserFactory(roles=["automations.form2json"])
    ids = [services.submission_create(actor=actor, kind="form2json", payload=FORM).submission.pk
           for _ in range(200)]
    # A second task for every row, as a requeue racing a slow worker would leave: the queue itself
    # now offers each row twice, and only our conditional claim keeps the run single.
    for pk in ids:
        run_submission.enqueue(pk)
    workers = [db_worker(tmp_path, "--batch", name=f"worker{i}") for i in range(4)]
    processes = [w.__enter__() for w in workers]
    try:
        for process in processes:
            process.wait(timeout=240)
    finally:
        for w in workers:
            w.__exit__(None, None, None)
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [p.log_path.read_text()[-2000:] for p in processes]
    assert Submission.objects.filter(pk__in=ids, status="done", attempts=1).count() == 200
    started = started_per_submission()
    assert len(started) == 200 and set(started.values()) == {1}
    assert AuditEvent.objects.filter(action="submission.completed").count() == 200


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_killed_worker_leaves_a_running_row_that_is_recovered_and_completes(tmp_path, settings):
    settings.TASKS = DB_TASKS
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [SLOW]
    marker = tmp_path / "runs.txt"
    actor = UserFactory(roles=["admin"])
    settings.WORKER_HEARTBEAT_SECONDS = 1
    worker_env = {"SUBMISSIONS_EXTRA_AUTOMATIONS": SLOW, "SUBMISSIONS_LEASE_SECONDS": "2",
                  "WORKER_HEARTBEAT_SECONDS": "1"}
    submission = services.submission_create(actor=actor, kind="test-slow",
                                            payload={"seconds": 300, "marker": str(marker)}).submission
    first_task = DBTaskResult.objects.get()

    with db_worker(tmp_path, name="doomed", **worker_env) as doomed:
        wait_for(lambda: marker.exists(), timeout=60, what=f"first run to start ({doomed.log_path})")
        # The lease keeper renews the 2 s lease and the heartbeat beats while the run sleeps, so a
        # live worker is never requeued nor its task row failed.
        time.sleep(4)
        assert services.submissions_requeue_stale() == {"requeued": 0, "failed": 0}
        assert services.task_results_fail_dead() == 0
        assert WorkerHeartbeat.objects.get().pid == doomed.pid
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)

    row = Submission.objects.get(pk=submission.pk)
    assert (row.status, row.attempts) == ("running", 1)  # what a crash leaves behind
    first_task.refresh_from_db()
    assert first_task.status == "RUNNING"  # and its task row, which nothing upstream ever looks at again
    # Three missed heartbeats later, requeue_stale (also in run_maintenance) fails that row.
    wait_for(lambda: services.task_results_fail_dead() == 1, timeout=30, interval=0.5, what="dead task row")
    first_task.refresh_from_db()
    assert first_task.status == "FAILED" and first_task.exception_class_path.endswith("WorkerDied")
    assert AuditEvent.objects.filter(action="task.reaped", details__task=str(first_task.pk)).count() == 1

    def recovered():
        return services.submissions_requeue_stale()["requeued"] == 1

    wait_for(recovered, timeout=30, interval=0.5, what="lease to expire and the row to be requeued")
    assert Submission.objects.get(pk=submission.pk).status == "queued"

    with db_worker(tmp_path, name="rescuer", **worker_env) as rescuer:
        wait_for(lambda: Submission.objects.get(pk=submission.pk).status == "done", timeout=60,
                 what=f"second run to finish ({rescuer.log_path})")
    row = Submission.objects.get(pk=submission.pk)
    assert row.attempts == 2 and row.result["attempt"] == 2
    assert marker.read_text().splitlines() == [f"{submission.pk}:1", f"{submission.pk}:2"]
    actions = list(AuditEvent.objects.filter(target_id=str(submission.pk)).order_by("id")
                   .values_list("action", flat=True))
    assert actions == ["submission.created", "submission.started", "submission.requeued", "submission.started",
                       "submission.completed"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_run_past_its_timeout_ends_in_error_and_the_worker_takes_the_next(tmp_path, settings):
    settings.TASKS = DB_TASKS
    settings.SUBMISSIONS_EXTRA_AUTOMATIONS = [OUTCOME]
    actor = UserFactory(roles=["admin"])
    stuck = services.submission_create(actor=actor, kind="test-outcome",
                                       payload={"mode": "sleep", "seconds": 300}).submission
    following = services.submission_create(actor=actor, kind="test-outcome", payload={"mode": "one_file"}).submission
    # A lease much shorter than the timeout, renewed every second: the run outlives several leases.
    worker_env = {"SUBMISSIONS_EXTRA_AUTOMATIONS": OUTCOME, "SUBMISSIONS_TIMEOUT": "15",
                  "SUBMISSIONS_LEASE_SECONDS": "3"}

    with db_worker(tmp_path, **worker_env) as worker:
        wait_for(lambda: Submission.objects.get(pk=stuck.pk).status == "running", timeout=60,
                 what=f"the stuck run to start ({worker.log_path})")
        # Past its 3 s lease, before its 15 s timeout: the waiting thread keeps renewing it.
        time.sleep(5)
        assert services.submissions_requeue_stale() == {"requeued": 0, "failed": 0}
        assert Submission.objects.get(pk=stuck.pk).status == "running"
        wait_for(lambda: Submission.objects.get(pk=following.pk).status == "done", timeout=60,
                 what=f"the next submission to run ({worker.log_path})")
        assert worker.poll() is None  # the same worker, still serving

    stuck_row, following_row = Submission.objects.get(pk=stuck.pk), Submission.objects.get(pk=following.pk)
    assert (stuck_row.status, stuck_row.error) == ("error", "Tempo esgotado: a automação passou do limite de 15 s.")
    assert stuck_row.finished_at <= following_row.started_at
    event = AuditEvent.objects.get(action="submission.failed", target_id=str(stuck.pk))
    assert event.details["reason"] == "timeout"
    assert "passed its 15 s timeout; run abandoned" in worker.log_path.read_text()
