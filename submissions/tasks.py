"""The background task that runs one submission (Django Tasks API; `manage.py db_worker` executes it).

The automation runs on a thread of its own while the worker's thread waits for it, renewing the
lease, until the automation's TIMEOUT. Past it the run is recorded as `error` ("tempo esgotado")
and the task returns, so the worker takes the next submission at once.

What happens to the abandoned run: Python cannot kill a thread, so it goes on until run() returns,
and then its outcome is dropped: its files are stored, and its row written, only by the waiting
thread, which has moved on (a late finish would also be refused: the row is no longer `running`
for that attempt). The thread is a daemon and holds no database connection of ours, so it never
keeps the worker from stopping. What frees the machine is the automation bounding what blocks by
`automations.time_left()`: the DFD's converter runs in its own process group, killed at the
deadline. An automation that loops in pure Python past its deadline keeps a core busy until it
returns; the worker logs every abandoned run ("abandoned") so such an automation shows, and
restarting the worker (`db_worker` is stateless) ends it.
"""

import contextvars
import logging
import threading
import time

from django.conf import settings
from django.db import connection, connections
from django_tasks import task

from agepar.logging import log_context
from submissions import automations, results, services

logger = logging.getLogger(__name__)
GENERIC_ERROR = "Erro interno ao executar a automação."
STORAGE_ERROR = "Não foi possível guardar os arquivos do resultado."


def timeout_message(seconds: float) -> str:
    return f"Tempo esgotado: a automação passou do limite de {seconds:g} s."


class _Run(threading.Thread):
    """automation.run() on its own thread, so that the worker can stop waiting for it."""

    def __init__(self, automation: automations.Automation, submission):
        super().__init__(name=f"submission-{submission.pk}", daemon=True)
        self.automation, self.submission = automation, submission
        self.deadline = time.monotonic() + automation.timeout
        self.outcome: dict | automations.Result | None = None
        self.error: BaseException | None = None
        self.log_context = contextvars.copy_context()  # the run's log lines keep its ids

    def run(self):
        self.log_context.run(self._run)

    def _run(self):
        automations.set_deadline(self.deadline)
        try:
            self.outcome = self.automation.run(self.submission.payload, self.submission)
        except BaseException as exc:  # handed to the waiting thread, which decides what the user sees
            self.error = exc
        finally:
            connections.close_all()  # this thread's own connections, if the automation opened any

    def wait(self) -> str:
        """'finished', 'timeout' or 'lease_lost', renewing the lease meanwhile (only a dead worker's expires)."""
        interval = max(settings.SUBMISSIONS_LEASE_SECONDS / 3, 0.2)
        while True:
            self.join(max(min(interval, self.deadline - time.monotonic()), 0))
            if not self.is_alive():
                return "finished"
            if time.monotonic() >= self.deadline:
                return "timeout"
            try:
                if not services.submission_extend_lease(submission=self.submission):
                    return "lease_lost"  # the row was taken back: nothing left to wait for
            except Exception:
                # A passing failure (a locked SQLite file, a dropped connection) must not end the
                # renewals: the lease would run out mid-run and another worker would start it again.
                logger.exception("could not extend the lease of submission %s; retrying", self.submission.pk)
                connection.close()


@task()
def run_submission(submission_id: int) -> str:
    """Claim the submission, run its automation, record done, error or a later retry. Safe to run
    twice: only one claim wins. Every log line of the run carries submission_id (and task_id)."""
    with log_context(submission_id=submission_id):
        return _run_submission(submission_id)


def _run_submission(submission_id: int) -> str:
    submission = services.submission_claim(submission_id=submission_id)
    if submission is None:
        return "skipped"
    automation = automations.get(submission.kind)
    if automation is None:
        services.submission_fail(submission=submission, error=f"Automação '{submission.kind}' indisponível.")
        return "error"
    run = _Run(automation, submission)
    run.start()
    state = run.wait()
    if state == "lease_lost":
        return _lease_lost(submission)
    if state == "timeout":
        logger.warning("submission %s (%s) passed its %s s timeout; run abandoned", submission.pk,
                       submission.kind, automation.timeout)
        return _settle(services.submission_fail, submission, error=timeout_message(automation.timeout),
                       reason="timeout", outcome="error")
    if run.error is not None:
        return _failed(submission, run.error)
    outcome = run.outcome
    data, files = (outcome.data, outcome.files) if isinstance(outcome, automations.Result) else (outcome, ())
    try:
        if not isinstance(data, dict) or (files and "files" in data):
            raise ValueError("run() must return a dict, or a Result whose data has no 'files' key")
        stored = results.store(files, max_size=automation.max_result_size)
    except results.ResultTooLarge:
        limit = automation.max_result_size / 1024**2
        return _settle(services.submission_fail, submission, outcome="error",
                       error=f"Os arquivos do resultado passam do limite de {limit:g} MiB.")
    except ValueError as exc:
        return _failed(submission, exc)
    except Exception as exc:
        # Storage away (a full disk, S3 not answering): a passing failure, tried again later.
        return _failed(submission, automations.RetryableAutomationError(STORAGE_ERROR), cause=exc)
    return _settle(services.submission_finish, submission, result=data, files=stored, outcome="done")


def _failed(submission, error: BaseException, *, cause: BaseException | None = None) -> str:
    # The user sees an AutomationError's message; anything else stays in the worker log only.
    logger.error("submission %s (%s) failed", submission.pk, submission.kind, exc_info=cause or error)
    if isinstance(error, automations.RetryableAutomationError):
        try:
            run_after = services.submission_fail_or_defer(submission=submission, error=str(error))
        except services.InvalidTransition:
            return _lease_lost(submission)
        return "deferred" if run_after else "error"
    message = str(error) if isinstance(error, automations.AutomationError) else GENERIC_ERROR
    return _settle(services.submission_fail, submission, error=message, outcome="error")


def _settle(transition, submission, *, outcome: str, **kwargs) -> str:
    try:
        transition(submission=submission, **kwargs)
    except services.InvalidTransition:
        return _lease_lost(submission)
    return outcome


def _lease_lost(submission) -> str:
    # Our lease expired and requeue_stale handed the row to another attempt; that one decides.
    logger.warning("submission %s: lease lost before the run ended; result discarded", submission.pk)
    return "lease_lost"
