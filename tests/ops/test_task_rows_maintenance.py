"""run_maintenance keeps the task queue's table small (prune_task_results) and is silent on success
with -v 0, so the cron line mails only when something needs a look."""

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from audits.models import AuditEvent
from submissions.models import WorkerHeartbeat
from tests.live import ROOT, production_env


def _task_row(status: str, finished_days_ago: float | None) -> DBTaskResult:
    now = timezone.now()
    finished = now - timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    return DBTaskResult.objects.create(
        id=uuid.uuid4(), status=status, args_kwargs={"args": [1], "kwargs": {}}, backend_name="default",
        task_path="submissions.tasks.run_submission", run_after=now, started_at=finished or now,
        finished_at=finished, exception_class_path="", traceback="")


@pytest.mark.django_db
def test_finished_task_rows_past_the_retention_are_deleted_with_one_event(settings):
    settings.TASK_RESULTS_RETENTION = 7 * 86400
    old_done, old_failed = _task_row("SUCCESSFUL", 8), _task_row("FAILED", 30)
    recent, waiting, running = _task_row("SUCCESSFUL", 1), _task_row("READY", None), _task_row("RUNNING", None)
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="gone", hostname="h", pid=1, started_at=now - timedelta(days=9),
                                   seen_at=now - timedelta(days=8))
    WorkerHeartbeat.objects.create(worker_id="here", hostname="h", pid=2, started_at=now, seen_at=now)

    call_command("prune_task_results", verbosity=0)

    left = set(DBTaskResult.objects.values_list("id", flat=True))
    assert left == {recent.id, waiting.id, running.id}
    assert not left & {old_done.id, old_failed.id}
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["here"]
    event = AuditEvent.objects.get(action="task.pruned")
    assert event.details["deleted"] == 2 and event.kind == "tasks"


@pytest.mark.django_db
def test_prune_task_results_refuses_a_malformed_period():
    with pytest.raises(Exception, match="--older-than"):
        call_command("prune_task_results", older_than="soon")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)  # a separate process works on the test database
def test_run_maintenance_is_silent_on_success_with_verbosity_0(tmp_path):
    _task_row("SUCCESSFUL", 400)  # something for a step to do
    result = subprocess.run([sys.executable, "manage.py", "run_maintenance", "-v", "0"], cwd=ROOT,
                            env=production_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")
    assert not DBTaskResult.objects.exists()  # it did run
    loud = subprocess.run([sys.executable, "manage.py", "run_maintenance"], cwd=ROOT,
                          env=production_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert "prune_task_results: ok" in loud.stdout
