"""Worker liveness: the heartbeat a `db_worker` writes while it runs, and who counts as alive.

A worker busy with a long automation still beats (the heartbeat is its own thread), so "not seen"
means the process is gone, not that it is busy.
"""

import logging
import os
import socket
import threading
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from submissions.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


class WorkerDied(Exception):  # noqa: N818 (the name a reaped task row's exception_class_path shows)
    """What a task row left running by a dead worker failed with (services.task_results_fail_dead)."""


def dead_after() -> timedelta:
    """A worker not seen for three heartbeat periods is taken for dead."""
    return timedelta(seconds=3 * settings.WORKER_HEARTBEAT_SECONDS)


def alive_since() -> datetime:
    return timezone.now() - dead_after()


class Heartbeat(threading.Thread):
    """Writes the worker's row now and every WORKER_HEARTBEAT_SECONDS; deletes it on stop()."""

    def __init__(self, worker_id: str):
        super().__init__(name=f"heartbeat-{worker_id[:8]}", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()
        self.row = WorkerHeartbeat(worker_id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(),
                                   started_at=timezone.now(), seen_at=timezone.now())

    def beat(self) -> None:
        self.row.seen_at = timezone.now()
        if not WorkerHeartbeat.objects.filter(pk=self.worker_id).update(seen_at=self.row.seen_at):
            self.row.save(force_insert=True)

    def start(self) -> None:
        self.beat()  # seen before the first task is claimed
        connection.close()  # the caller's thread connection: the worker loop opens its own
        super().start()

    def run(self) -> None:
        try:
            while not self.stopped.wait(settings.WORKER_HEARTBEAT_SECONDS):
                try:
                    self.beat()
                except Exception:
                    # A passing failure (database restart, locked SQLite file) must not end the beats.
                    logger.exception("worker heartbeat failed; retrying")
                    connection.close()
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join()
        WorkerHeartbeat.objects.filter(pk=self.worker_id).delete()
