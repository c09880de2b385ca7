"""The background task that runs one submission (Django Tasks API; `manage.py db_worker` executes it)."""

import logging
import threading

from django.conf import settings
from django.db import connection
from django_tasks import task

from submissions import automations, services

logger = logging.getLogger(__name__)
GENERIC_ERROR = "Erro interno ao executar a automação."


class _LeaseKeeper(threading.Thread):
    """Extends the lease while the automation runs, so only a dead worker's lease expires."""

    def __init__(self, submission):
        super().__init__(name=f"lease-{submission.pk}", daemon=True)
        self.submission = submission
        self.stopped = threading.Event()

    def run(self):
        interval = max(settings.SUBMISSIONS_LEASE_SECONDS / 3, 0.2)
        try:
            while not self.stopped.wait(interval):
                try:
                    if not services.submission_extend_lease(submission=self.submission):
                        return  # the row was taken back: nothing left to keep
                except Exception:
                    # A passing failure (a locked SQLite file, a dropped connection) must not end the
                    # renewals: the lease would run out mid-run and another worker would start it again.
                    logger.exception("could not extend the lease of submission %s; retrying", self.submission.pk)
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def stop(self):
        self.stopped.set()
        self.join()


@task()
def run_submission(submission_id: int) -> str:
    """Claim the submission, run its automation, record done or error. Safe to run twice: only one claim wins."""
    submission = services.submission_claim(submission_id=submission_id)
    if submission is None:
        return "skipped"
    automation = automations.get(submission.kind)
    if automation is None:
        services.submission_fail(submission=submission, error=f"Automação '{submission.kind}' indisponível.")
        return "error"
    keeper = _LeaseKeeper(submission)
    keeper.start()
    try:
        result = automation.run(submission.payload, submission)
    except Exception as exc:
        keeper.stop()
        # The user sees an AutomationError's message; anything else stays in the worker log only.
        message = str(exc) if isinstance(exc, automations.AutomationError) else GENERIC_ERROR
        logger.exception("submission %s (%s) failed", submission.pk, submission.kind)
        return _settle(services.submission_fail, submission, error=message, outcome="error")
    keeper.stop()
    return _settle(services.submission_finish, submission, result=result, outcome="done")


def _settle(transition, submission, *, outcome: str, **kwargs) -> str:
    try:
        transition(submission=submission, **kwargs)
    except services.InvalidTransition:
        # Our lease expired and requeue_stale handed the row to another attempt; that one decides.
        logger.warning("submission %s: lease lost before the run ended; result discarded", submission.pk)
        return "lease_lost"
    return outcome
