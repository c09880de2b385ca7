"""A real db_worker beats while it runs (its own row) and removes its row when stopped cleanly."""

import pytest

from submissions.models import WorkerHeartbeat
from tests.submissions.helpers import db_worker, wait_for


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_beats_while_it_runs_and_clears_its_row_on_sigterm(tmp_path):
    with db_worker(tmp_path, "--worker-id", "beating-worker", WORKER_HEARTBEAT_SECONDS="1") as worker:
        first = wait_for(lambda: WorkerHeartbeat.objects.filter(pk="beating-worker").first(), timeout=60,
                         what=f"the first heartbeat ({worker.log_path})")
        assert first.pid == worker.pid
        wait_for(lambda: WorkerHeartbeat.objects.get(pk="beating-worker").seen_at > first.seen_at, timeout=30,
                 what="a later heartbeat")
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert not WorkerHeartbeat.objects.filter(pk="beating-worker").exists()
