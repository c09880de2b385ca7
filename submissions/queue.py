"""Handing submissions to the workers (Django's Tasks API).

The task that runs a submission (submissions.tasks) calls the services, and the services enqueue
it. To keep that dependency one-way, the app registers its task here when it is ready
(SubmissionsConfig.ready), and the services import only this module.
"""

from datetime import datetime

from django.db import router, transaction
from django_tasks.base import Task

from submissions.models import Submission

_run: Task | None = None


def register(task: Task) -> None:
    """The task that runs one submission, given its id."""
    global _run
    _run = task


def enqueue(submission_id: int, *, run_after: datetime | None = None) -> None:
    """Queue the run of a submission: in the caller's transaction when the queue shares it, else on commit."""
    if _run is None:
        raise RuntimeError("no submission task registered: is the submissions app installed and ready?")
    task = _run
    if run_after is not None and task.get_backend().supports_defer:
        # A backend that cannot defer (the immediate one of the tests) runs the retry at once.
        task = task.using(run_after=run_after)
    if _shares_the_transaction(task):
        # The task row commits or rolls back with the submission: no window in which a crash
        # leaves one without the other, and one commit per create instead of two.
        task.enqueue(submission_id)
    else:
        # Another queue (or an immediate runner) must not look for a row it cannot see yet.
        transaction.on_commit(lambda: task.enqueue(submission_id))


def _shares_the_transaction(task: Task) -> bool:
    """True when the task queue is a table of the database that holds the submissions."""
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    return (isinstance(task.get_backend(), DatabaseBackend)
            and router.db_for_write(DBTaskResult) == router.db_for_write(Submission))
