"""Submission state machine: queued → running → done | error, error → queued (retry).

Every transition is ONE conditional UPDATE on the expected old state (and, for a running
row, on the attempt number that claimed it), plus one audit event, in one transaction.
Whoever loses a race sees a row count of 0 and gets `InvalidTransition`; nothing else
needs locks.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, router, transaction
from django.db.models import F
from django.utils import timezone

from audits.services import record
from submissions import automations
from submissions.models import Submission

Status = Submission.Status


class InvalidTransition(Exception):
    """The row is not in the state the transition starts from (or is no longer ours)."""


class IdempotencyKeyReused(Exception):
    """The same Idempotency-Key was used before for a different request."""


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.SUBMISSIONS_LEASE_SECONDS)


def _queue_shares_the_transaction(task) -> bool:
    """True when the task queue is a table of the database that holds the submissions."""
    from django_tasks_db import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    return (isinstance(task.get_backend(), DatabaseBackend)
            and router.db_for_write(DBTaskResult) == router.db_for_write(Submission))


def _enqueue(submission_id: int) -> None:
    from submissions.tasks import run_submission

    if _queue_shares_the_transaction(run_submission):
        # The task row commits or rolls back with the submission: no window in which a crash
        # leaves one without the other, and one commit per create instead of two.
        run_submission.enqueue(submission_id)
    else:
        # Another queue (or an immediate runner) must not look for a row it cannot see yet.
        transaction.on_commit(lambda: run_submission.enqueue(submission_id))


def _details(submission: Submission, **extra) -> dict:
    return {"submission": submission.pk, "version": submission.version, **extra}


@dataclass(frozen=True)
class Created:
    submission: Submission
    created: bool  # False: an earlier request with the same Idempotency-Key made it


def submission_create(*, actor, kind: str, payload: dict, idempotency_key: str | None = None,
                      request=None) -> Created:
    """Insert a queued submission (payload already validated) and enqueue its run (see _enqueue)."""
    automation = automations.get(kind)
    if automation is None:
        raise ValueError(f"unknown automation kind {kind!r}")
    if idempotency_key:
        existing = Submission.objects.filter(actor=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return Created(_same_request(existing, kind, payload), created=False)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                kind=kind, version=automation.version, actor=actor, payload=payload,
                actor_cpf=actor.cpf or "", actor_nome=actor.nome, actor_email=actor.email,
                idempotency_key=idempotency_key or None,
            )
            record("submission.created", actor=actor, request=request, kind=kind, target=submission,
                   details=_details(submission))
            _enqueue(submission.pk)
    except IntegrityError:
        # Race: a concurrent request with the same key inserted first; the unique constraint decided.
        if not idempotency_key:
            raise
        existing = Submission.objects.get(actor=actor, idempotency_key=idempotency_key)
        return Created(_same_request(existing, kind, payload), created=False)
    return Created(submission, created=True)


def _same_request(existing: Submission, kind: str, payload: dict) -> Submission:
    if existing.kind != kind or existing.payload != payload:
        raise IdempotencyKeyReused
    return existing


def submission_claim(*, submission_id: int) -> Submission | None:
    """queued → running for this worker; None when another worker got there first (or it is not queued)."""
    now = timezone.now()
    with transaction.atomic():
        # Race: two workers may hold tasks for the same row; only the one whose UPDATE matches wins.
        claimed = Submission.objects.filter(pk=submission_id, status=Status.QUEUED).update(
            status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, finished_at=None,
            lease_expires_at=now + timedelta(seconds=settings.SUBMISSIONS_LEASE_SECONDS), updated_at=now,
        )
        if not claimed:
            return None
        submission = Submission.objects.select_related("actor").get(pk=submission_id)
        record("submission.started", actor=submission.actor, kind=submission.kind, target=submission,
               details=_details(submission, attempt=submission.attempts))
    return submission


def _running_row(submission: Submission):
    # The attempt number identifies the claim: a worker whose lease expired and whose row was
    # requeued and claimed again can no longer touch it.
    return Submission.objects.filter(pk=submission.pk, status=Status.RUNNING, attempts=submission.attempts)


def submission_extend_lease(*, submission: Submission) -> bool:
    """Push the lease of a long run forward; False if the run is no longer ours."""
    # Race: requeue_stale may be taking the row back; the conditional UPDATE settles who wins.
    return bool(_running_row(submission).update(lease_expires_at=_lease_until()))


def submission_finish(*, submission: Submission, result: dict) -> None:
    """running → done with the automation's result."""
    now = timezone.now()
    with transaction.atomic():
        # Race: the lease may have expired and the row been requeued while we ran.
        if not _running_row(submission).update(status=Status.DONE, result=result, error="", finished_at=now,
                                               lease_expires_at=None, updated_at=now):
            raise InvalidTransition
        record("submission.completed", actor=submission.actor, kind=submission.kind, target=submission,
               details=_details(submission, attempt=submission.attempts))


def submission_fail(*, submission: Submission, error: str) -> None:
    """running → error with a message for the user."""
    now = timezone.now()
    error = error[:4000]
    with transaction.atomic():
        # Race: as in submission_finish.
        if not _running_row(submission).update(status=Status.ERROR, error=error, result=None, finished_at=now,
                                               lease_expires_at=None, updated_at=now):
            raise InvalidTransition
        record("submission.failed", status="failure", actor=submission.actor, kind=submission.kind,
               target=submission, details=_details(submission, attempt=submission.attempts, error=error))


def submission_retry(*, submission: Submission, actor, request=None) -> Submission:
    """error → queued, and enqueued again (see _enqueue)."""
    now = timezone.now()
    with transaction.atomic():
        # Race: two retries (or a retry and an admin action) at once; only one finds it in error.
        if not Submission.objects.filter(pk=submission.pk, status=Status.ERROR).update(
                status=Status.QUEUED, error="", result=None, started_at=None, finished_at=None,
                lease_expires_at=None, updated_at=now):
            raise InvalidTransition
        record("submission.retried", actor=actor, request=request, kind=submission.kind, target=submission,
               details=_details(submission))
        _enqueue(submission.pk)
    submission.refresh_from_db()
    return submission


def submission_mark_error(*, submission: Submission, actor, reason: str, request=None) -> None:
    """queued|running → error by staff, for a run that is stuck (e.g. its automation was removed)."""
    now = timezone.now()
    old = submission.status
    if old not in (Status.QUEUED, Status.RUNNING):
        raise InvalidTransition
    with transaction.atomic():
        # Race: the worker may finish the row meanwhile; only a row still in the state we saw is marked.
        if not Submission.objects.filter(pk=submission.pk, status=old).update(
                status=Status.ERROR, error=reason[:4000], finished_at=now, lease_expires_at=None, updated_at=now):
            raise InvalidTransition
        record("submission.failed", status="failure", actor=actor, request=request, kind=submission.kind,
               target=submission, details=_details(submission, previous_status=old, error=reason, by_staff=True))


def submissions_requeue_stale(*, limit: int = 500) -> dict:
    """Running rows whose lease expired (their worker died): back to queued, or error after the last attempt."""
    now = timezone.now()
    stale = list(Submission.objects.filter(status=Status.RUNNING, lease_expires_at__lt=now)
                 .order_by("lease_expires_at").values("pk", "kind", "version", "attempts", "actor_id")[:limit])
    counts = {"requeued": 0, "failed": 0}
    for row in stale:
        exhausted = row["attempts"] >= settings.SUBMISSIONS_MAX_ATTEMPTS
        with transaction.atomic():
            # Race: the original worker may extend its lease or finish right now; the UPDATE on the
            # same (status, attempts, expired lease) lets exactly one side win.
            rows = Submission.objects.filter(pk=row["pk"], status=Status.RUNNING, attempts=row["attempts"],
                                             lease_expires_at__lt=now)
            target = ("submissions.submission", row["pk"])
            details = {"submission": row["pk"], "version": row["version"], "attempt": row["attempts"]}
            if exhausted:
                error = "A execução foi interrompida repetidamente e atingiu o limite de tentativas."
                if rows.update(status=Status.ERROR, error=error, finished_at=now, lease_expires_at=None,
                               updated_at=now):
                    record("submission.failed", status="failure", actor_label="system", kind=row["kind"],
                           target=target, details={**details, "error": error, "reason": "lease_expired"})
                    counts["failed"] += 1
            elif rows.update(status=Status.QUEUED, lease_expires_at=None, started_at=None, updated_at=now):
                record("submission.requeued", actor_label="system", kind=row["kind"], target=target,
                       details={**details, "reason": "lease_expired"})
                _enqueue(row["pk"])
                counts["requeued"] += 1
    return counts


def submissions_prune(*, before, batch_size: int = 1000, dry_run: bool = False) -> int:
    """Delete done/error submissions created before `before`, in batches, each with its audit event.

    Every batch commits together with its `submission.pruned` event, so a run killed half-way
    leaves no deletion unrecorded.
    """
    finished = Submission.objects.filter(created_at__lt=before, status__in=[Status.DONE, Status.ERROR])
    if dry_run:
        return finished.count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(finished.order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            count = Submission.objects.filter(id__in=ids, status__in=[Status.DONE, Status.ERROR]).delete()[0]
            record("submission.pruned", actor_label="system",
                   details={"before": before.isoformat(), "deleted": count, "first_id": ids[0], "last_id": ids[-1]})
            deleted += count
    return deleted
