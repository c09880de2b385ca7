"""Submission state machine: queued → running → done | error, running → queued (a passing
failure, after a backoff), error → queued (retry), and withdrawal (soft delete) of anything not
running.

Every transition is ONE conditional UPDATE on the expected old state (and, for a running
row, on the attempt number that claimed it), plus one audit event, in one transaction.
Whoever loses a race sees a row count of 0 and gets `InvalidTransition` (a 409); nothing
else needs locks. Every error raised here is an AppError (agepar.errors), whichever door called.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from agepar import blobs, errors
from audits.services import record
from submissions import automations, queue, results, workers
from submissions.models import Submission, SubmissionFile, WorkerHeartbeat

Status = Submission.Status


class InvalidTransition(errors.Conflict):
    """The row is not in the state the transition starts from (or is no longer ours)."""

    default_detail = "A submissão não está na situação que esta operação exige."
    default_code = "invalid_state"


class RetryTooSoon(errors.Throttled):
    """A manual retry sooner than the backoff after the previous one allows (429 with Retry-After)."""

    default_code = "retry_too_soon"

    def __init__(self, retry_at: datetime):
        wait = max(math.ceil((retry_at - timezone.now()).total_seconds()), 1)
        super().__init__(f"Aguarde {wait} s antes de reenviar esta submissão: cada reenvio espera mais que o "
                         "anterior.", retry_after=wait)
        self.retry_at = retry_at


class StillRunning(errors.Conflict):
    """A running submission cannot be withdrawn: its worker holds it."""

    default_detail = "A submissão está em execução; exclua-a quando terminar."
    default_code = "running"


class IdempotencyKeyReused(errors.Conflict):
    """The same Idempotency-Key was used before for a different request."""

    default_detail = "Esta Idempotency-Key já foi usada para outra requisição."
    default_code = "idempotency_key_reused"


class DuplicateSubmission(errors.Conflict):
    """A live submission of this kind already has the automation's UNIQUE_FIELD value."""

    default_code = "duplicate"


def retry_delay(number: int) -> float:
    """Seconds before retry `number` (1, 2, ...): SUBMISSIONS_RETRY_BACKOFF doubled each time, capped."""
    if number < 1:
        return 0.0
    return min(settings.SUBMISSIONS_RETRY_BACKOFF * 2 ** (number - 1), settings.SUBMISSIONS_RETRY_BACKOFF_MAX)


def _lease_until():
    return timezone.now() + timedelta(seconds=settings.SUBMISSIONS_LEASE_SECONDS)


def _details(submission: Submission, **extra) -> dict:
    return {"submission": submission.pk, "version": submission.version, **extra}


def automation_for(kind: str) -> automations.Automation:
    """The automation of `kind`; a 400 on the `kind` field when there is none."""
    automation = automations.get(kind)
    if automation is None:
        raise errors.InvalidInput({"kind": ["Automação desconhecida."]}, "unknown_kind")
    return automation


@dataclass(frozen=True)
class Created:
    submission: Submission
    created: bool  # False: an earlier request with the same Idempotency-Key made it


def submission_create(*, actor: User, kind: str, payload: dict, idempotency_key: str | None = None,
                      request: HttpRequest | None = None) -> Created:
    """Insert a queued submission (payload already validated) and enqueue its run (see queue.enqueue)."""
    automation = automation_for(kind)
    if idempotency_key:
        existing = Submission.objects.filter(actor=actor, idempotency_key=idempotency_key).first()
        if existing is not None:
            return Created(_same_request(existing, kind, payload), created=False)
    unique_key = automation.unique_key(payload)
    try:
        with transaction.atomic():
            submission = Submission.objects.create(
                kind=kind, version=automation.version, actor=actor, payload=payload,
                actor_cpf=actor.cpf or "", actor_nome=actor.nome, actor_email=actor.email,
                idempotency_key=idempotency_key or None, unique_key=unique_key,
            )
            record("submission.created", actor=actor, request=request, kind=kind, target=submission,
                   details=_details(submission))
            queue.enqueue(submission.pk)
    except IntegrityError:
        # Race: a concurrent request with the same Idempotency-Key or the same unique field
        # (the DFD's protocolo) inserted first; a unique index decided, never a lookup before.
        if idempotency_key:
            existing = Submission.objects.filter(actor=actor, idempotency_key=idempotency_key).first()
            if existing is not None:
                return Created(_same_request(existing, kind, payload), created=False)
        if unique_key and Submission.objects.filter(kind=kind, unique_key=unique_key,
                                                    deleted_at__isnull=True).exists():
            field = automation.module.UNIQUE_FIELD
            with transaction.atomic():
                record("submission.created", status="failure", actor=actor, request=request, kind=kind,
                       details={"reason": "duplicate", "field": field, "value": payload.get(field)})
            raise DuplicateSubmission(automation.duplicate_message) from None
        raise
    return Created(submission, created=True)


def _same_request(existing: Submission, kind: str, payload: dict) -> Submission:
    if existing.kind != kind or existing.payload != payload:
        raise IdempotencyKeyReused
    return existing


def submission_claim(*, submission_id: int) -> Submission | None:
    """queued → running for this worker; None when another worker got there first (or it is not queued)."""
    now = timezone.now()
    with transaction.atomic():
        # Race: two workers may hold tasks for the same row, or its author may withdraw it right
        # now; only the UPDATE that still finds it queued and not deleted wins.
        claimed = Submission.objects.filter(pk=submission_id, status=Status.QUEUED, deleted_at__isnull=True).update(
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


def submission_finish(*, submission: Submission, result: dict,
                      files: Sequence[results.StoredFile] = ()) -> None:
    """running → done with the automation's result (and the files already stored for it).

    The files' rows commit with the transition; if it fails (the row is no longer ours), the
    blobs are deleted, so no file outlives a run that did not end.
    """
    now = timezone.now()
    if files:
        result = {**result, "files": [f.listing() for f in files]}
    try:
        with transaction.atomic():
            # Race: the lease may have expired and the row been requeued while we ran.
            if not _running_row(submission).update(status=Status.DONE, result=result, error="", finished_at=now,
                                                   lease_expires_at=None, run_after=None, updated_at=now):
                raise InvalidTransition
            SubmissionFile.objects.bulk_create([
                SubmissionFile(submission_id=submission.pk, name=f.name, storage_name=f.storage_name, size=f.size,
                               content_type=f.content_type, sha256=f.sha256) for f in files])
            record("submission.completed", actor=submission.actor, kind=submission.kind, target=submission,
                   details=_details(submission, attempt=submission.attempts, files=[f.name for f in files]))
    except BaseException:
        blobs.delete(f.storage_name for f in files)
        raise


def submission_fail(*, submission: Submission, error: str, reason: str | None = None) -> None:
    """running → error with a message for the user (`reason` goes to the audit event: timeout, ...)."""
    now = timezone.now()
    error = error[:4000]
    extra = {"reason": reason} if reason else {}
    with transaction.atomic():
        # Race: as in submission_finish.
        if not _running_row(submission).update(status=Status.ERROR, error=error, result=None, finished_at=now,
                                               lease_expires_at=None, run_after=None, updated_at=now):
            raise InvalidTransition
        record("submission.failed", status="failure", actor=submission.actor, kind=submission.kind,
               target=submission, details=_details(submission, attempt=submission.attempts, error=error, **extra))


def submission_fail_or_defer(*, submission: Submission, error: str) -> datetime | None:
    """A passing failure: running → queued again after retry_delay(attempt), or → error after the
    last of SUBMISSIONS_MAX_ATTEMPTS. Returns when the next attempt may start (None: it failed)."""
    if submission.attempts >= settings.SUBMISSIONS_MAX_ATTEMPTS:
        submission_fail(submission=submission, reason="attempts_exhausted",
                        error=f"{error} (falhou {submission.attempts} vez(es); limite de tentativas atingido)")
        return None
    now = timezone.now()
    run_after = now + timedelta(seconds=retry_delay(submission.attempts))
    error = error[:4000]
    with transaction.atomic():
        # Race: as in submission_finish.
        if not _running_row(submission).update(status=Status.QUEUED, error=error, started_at=None,
                                               lease_expires_at=None, run_after=run_after, updated_at=now):
            raise InvalidTransition
        record("submission.retry_scheduled", status="failure", actor=submission.actor, kind=submission.kind,
               target=submission, details=_details(submission, attempt=submission.attempts, error=error,
                                                   run_after=run_after.isoformat()))
        queue.enqueue(submission.pk, run_after=run_after)
    return run_after


def submission_retry(*, submission: Submission, actor: User, reason: str = "",
                     request: HttpRequest | None = None) -> Submission:
    """error → queued, as a fresh series of attempts, and enqueued again (see queue.enqueue).

    Manual retries back off like automatic ones: retry n waits retry_delay(n - 1) after the
    previous run ended (the first one may come at once), so a retry loop cannot outrun it.
    `reason`: what staff typed in the admin, kept in the event.
    """
    now = timezone.now()
    ready_at = (submission.finished_at or now) + timedelta(seconds=retry_delay(submission.retries))
    if submission.status == Status.ERROR and ready_at > now:
        raise RetryTooSoon(ready_at)
    with transaction.atomic():
        # Race: two retries (or a retry and an admin action) at once; only the one that still finds
        # it in error, with the retry count it saw, moves it.
        if not Submission.objects.filter(pk=submission.pk, status=Status.ERROR, deleted_at__isnull=True,
                                         retries=submission.retries).update(
                status=Status.QUEUED, error="", result=None, attempts=0, retries=F("retries") + 1,
                started_at=None, finished_at=None, lease_expires_at=None, run_after=None, updated_at=now):
            raise InvalidTransition("Só é possível reenfileirar uma submissão com erro.")
        record("submission.retried", actor=actor, request=request, kind=submission.kind, target=submission,
               details=_details(submission, retry=submission.retries + 1, **({"reason": reason} if reason else {})))
        queue.enqueue(submission.pk)
    submission.refresh_from_db()
    return submission


def submission_delete(*, submission: Submission, actor: User, request: HttpRequest | None = None) -> None:
    """Withdraw a submission that is not running: it is never run (queued), and vanishes from
    lists and detail; its result files are deleted on commit. The row stays for prune."""
    now = timezone.now()
    with transaction.atomic():
        # Race: a worker claiming the queued row right now; the claim and this UPDATE both need it
        # not running and not deleted, so exactly one of them matches.
        if not Submission.objects.filter(pk=submission.pk, deleted_at__isnull=True).exclude(
                status=Status.RUNNING).update(deleted_at=now, deleted_by=actor, updated_at=now):
            if Submission.objects.filter(pk=submission.pk, deleted_at__isnull=True).exists():
                raise StillRunning
            raise errors.NotFound  # withdrawn meanwhile by another request
        names = list(SubmissionFile.objects.filter(submission_id=submission.pk).values_list("storage_name", flat=True))
        record("submission.deleted", actor=actor, request=request, kind=submission.kind, target=submission,
               details=_details(submission, status=submission.status, files=len(names)))
        transaction.on_commit(lambda: blobs.delete(names))


def record_file_download(*, submission: Submission, file: SubmissionFile, actor: User | AnonymousUser,
                         request: HttpRequest | None = None,
                         via: str | None = None) -> None:
    with transaction.atomic():
        record("submission.file_downloaded", actor=actor, request=request, kind=submission.kind, target=submission,
               details=_details(submission, name=file.name, size=file.size, **({"via": via} if via else {})))


def submission_mark_error(*, submission: Submission, actor: User, reason: str,
                          request: HttpRequest | None = None) -> None:
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
                queue.enqueue(row["pk"])
                counts["requeued"] += 1
    return counts


def submissions_prune(*, before, batch_size: int = 1000, dry_run: bool = False) -> int:
    """Delete done/error submissions created before `before`, and withdrawn ones deleted before it,
    in batches, each with its audit event; their result files go when the batch commits.

    Every batch commits together with its `submission.pruned` event, so a run killed half-way
    leaves no deletion unrecorded.
    """
    # A withdrawn row is never running (submission_delete refuses it), so it may go whatever its status.
    prunable = (Q(created_at__lt=before, status__in=[Status.DONE, Status.ERROR]) | Q(deleted_at__lt=before))
    if dry_run:
        return Submission.objects.filter(prunable).count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(Submission.objects.filter(prunable).order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            names = list(SubmissionFile.objects.filter(submission_id__in=ids).values_list("storage_name", flat=True))
            count = Submission.objects.filter(prunable, id__in=ids).delete()[1].get(Submission._meta.label, 0)
            record("submission.pruned", actor_label="system",
                   details={"before": before.isoformat(), "deleted": count, "first_id": ids[0], "last_id": ids[-1],
                            "files": len(names)})
            transaction.on_commit(partial(blobs.delete, names))
            deleted += count
    return deleted


ORPHAN_MIN_AGE = timedelta(hours=1)  # a run's blobs are written before its row commits


def submission_files_cleanup(*, dry_run: bool = False, batch_size: int = 500) -> int:
    """Remove result blobs that no live submission's file row names (a crash between write and
    commit, a delete whose blob removal failed), older than ORPHAN_MIN_AGE; one audit event."""
    def claimed(names: list[str]) -> list[str]:
        return list(SubmissionFile.objects.filter(storage_name__in=names, submission__deleted_at__isnull=True)
                    .values_list("storage_name", flat=True))

    removed = 0
    for orphans in blobs.orphans(results.PREFIX, claimed=claimed, min_age=ORPHAN_MIN_AGE, batch_size=batch_size):
        if not dry_run:
            blobs.delete(orphans)
        removed += len(orphans)
    if not dry_run:
        with transaction.atomic():
            record("submission.files_cleaned", actor_label="system:cleanup_submission_files",
                   details={"orphans": removed})
    return removed


def task_results_fail_dead() -> int:
    """Task-queue rows left `running` by a worker that died (no heartbeat for three periods): failed.

    django-tasks-db never looks at them again otherwise; the submission itself is requeued by its
    expired lease (submissions_requeue_stale). One conditional UPDATE (still running, same worker
    list) per row, so a worker that was only slow and finishes now keeps its own outcome.
    """
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = workers.alive_since()
    alive = set(WorkerHeartbeat.objects.filter(seen_at__gte=cutoff).values_list("worker_id", flat=True))
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
    failed = 0
    for row in running.values("id", "worker_ids", "task_path"):
        worker = row["worker_ids"][-1] if row["worker_ids"] else ""
        if worker in alive:
            continue
        with transaction.atomic():
            if DBTaskResult.objects.filter(id=row["id"], status=TaskResultStatus.RUNNING,
                                           worker_ids=row["worker_ids"]).update(
                    status=TaskResultStatus.FAILED, finished_at=timezone.now(),
                    exception_class_path=f"{workers.WorkerDied.__module__}.{workers.WorkerDied.__qualname__}",
                    traceback=f"worker {worker} stopped beating while it ran this task"):
                record("task.reaped", status="failure", actor_label="system", kind="tasks",
                       details={"task": str(row["id"]), "task_path": row["task_path"], "worker": worker})
                failed += 1
    return failed


def task_results_prune(*, before) -> int:
    """Delete finished task-queue rows (and workers' heartbeat rows) older than `before`, with one event."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    with transaction.atomic():
        deleted = DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED], finished_at__lt=before).delete()[0]
        WorkerHeartbeat.objects.filter(seen_at__lt=before).delete()
        if deleted:
            record("task.pruned", actor_label="system", kind="tasks",
                   details={"before": before.isoformat(), "deleted": deleted})
    return deleted
