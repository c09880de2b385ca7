"""Reads of submissions: the caller's own rows unless they hold an oversight role."""

from dataclasses import dataclass

from django.db.models import Count, Max, Min, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import ADMIN, OVERSIGHT, has_role
from agepar.routers import lag_tolerant
from submissions.models import Submission, SubmissionFile, WorkerHeartbeat

LIST_FIELDS = ("id", "kind", "version", "status", "error", "attempts", "created_at", "updated_at", "started_at",
               "finished_at", "actor_id", "actor_nome", "actor_email", "actor_cpf")
FULL_FIELDS = (*LIST_FIELDS, "payload", "result")
# Newest first (API.md), by time: ids and created_at do not grow strictly together, so a time filter
# on an id ordering walks every newer row. `id` breaks ties; every list index ends (created_at, id).
NEWEST_FIRST = ("-created_at", "-id")


def can_see_all(user: User) -> bool:
    return has_role(user, *OVERSIGHT)


def submission_list(*, user: User, all_actors: bool = False, full: bool = False, kind: str | None = None,
                    status: str | None = None, created_after=None, created_before=None) -> QuerySet:
    """Newest first (NEWEST_FIRST, the cursor paginator's keyset); every filter is a WHERE clause."""
    # A list may be a second or two behind (the read replica, agepar/routers.py); the detail never is.
    qs = Submission.objects.using(lag_tolerant()).filter(deleted_at__isnull=True)
    if not all_actors:
        qs = qs.filter(actor=user)
    if kind:
        qs = qs.filter(kind=kind)
    if status:
        qs = qs.filter(status=status)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    # payload/result can be large: a list reads them only when asked. Plain dicts: the API builds
    # its rows from them directly (submissions.api.summary_row).
    return qs.order_by(*NEWEST_FIRST).values(*(FULL_FIELDS if full else LIST_FIELDS))


def submission_for(*, user: User, submission_id: int) -> Submission | None:
    """The submission if the user may see it: its author, or an oversight role. None otherwise (→ 404)."""
    qs = Submission.objects.filter(pk=submission_id, deleted_at__isnull=True)
    if not can_see_all(user):
        qs = qs.filter(actor=user)
    return qs.first()


def can_delete(user: User, submission: Submission) -> bool:
    """Its author may withdraw a submission, and so may the admin role (API and admin alike)."""
    return submission.actor_id == user.pk or has_role(user, ADMIN)


def submission_files(*, submission_id: int) -> list[dict]:
    """The files of a run, in the order it produced them, each with its download URL (API and admin)."""
    rows = (SubmissionFile.objects.filter(submission_id=submission_id).order_by("id")
            .values("name", "size", "content_type", "sha256", "created_at"))
    return [{**row, "download_url": file_download_url(submission_id, row["name"])} for row in rows]


def submission_file(*, submission: Submission, name: str) -> SubmissionFile | None:
    return SubmissionFile.objects.filter(submission=submission, name=name).first()


def file_download_url(submission_id: int, name: str) -> str:
    return reverse("submission-file", args=[submission_id, name])


@dataclass(frozen=True)
class QueueState:
    depth: int  # submissions waiting for a worker
    oldest_age_seconds: float | None  # how long the longest-waiting one has been queued
    worker_last_seen_seconds: float | None  # since the newest heartbeat of any worker (None: none ever)


def queue_state() -> QueueState:
    """What /api/health and /metrics say about the queue: two small aggregates (the queued index is partial)."""
    now = timezone.now()
    # A withdrawn queued row is never run: no worker is waited for.
    queued = Submission.objects.filter(status=Submission.Status.QUEUED, deleted_at__isnull=True).aggregate(
        depth=Count("id"), oldest=Min("updated_at"))
    seen = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]
    return QueueState(depth=queued["depth"],
                      oldest_age_seconds=(now - queued["oldest"]).total_seconds() if queued["oldest"] else None,
                      worker_last_seen_seconds=(now - seen).total_seconds() if seen else None)
