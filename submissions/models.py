from django.conf import settings
from django.db import models
from django.db.models import Q
from django_tasks_db.models import DBTaskResult


class Submission(models.Model):
    """One run of an automation: what was asked, by whom, and how it ended.

    Rows change state only through submissions.services (one conditional UPDATE per
    transition); the worker's lease (`lease_expires_at`) lets a crashed run be found and
    requeued.

    `actor` is PROTECT: a submission is the record of something a person asked for, and
    ownership (who may read it) is decided by this key, never by the CPF/e-mail snapshot
    (the old portal matched two CPF-less users to each other). Deleting a user who has
    submissions is therefore refused; deactivate the account instead, or prune the
    submissions first. The snapshot columns keep what the person was called at the time.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "na fila"
        RUNNING = "running", "em execução"
        DONE = "done", "concluída"
        ERROR = "error", "erro"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField("automação", max_length=64)
    version = models.CharField("versão", max_length=32)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="autor", on_delete=models.PROTECT,
                              related_name="submissions")
    actor_cpf = models.CharField("CPF do autor", max_length=11, blank=True, default="")
    actor_nome = models.CharField("nome do autor", max_length=200, blank=True, default="")
    actor_email = models.CharField("e-mail do autor", max_length=254, blank=True, default="")
    payload = models.JSONField("dados enviados")
    status = models.CharField("situação", max_length=8, choices=Status.choices, default=Status.QUEUED)
    result = models.JSONField("resultado", null=True, blank=True)
    error = models.TextField("erro", blank=True, default="")
    attempts = models.PositiveIntegerField("tentativas", default=0)
    created_at = models.DateTimeField("criada em", auto_now_add=True)
    updated_at = models.DateTimeField("atualizada em", auto_now=True)
    started_at = models.DateTimeField("iniciada em", null=True, blank=True)
    finished_at = models.DateTimeField("finalizada em", null=True, blank=True)
    lease_expires_at = models.DateTimeField("reserva expira em", null=True, blank=True)
    # Not before this time: the backoff after a passing failure (RetryableAutomationError).
    run_after = models.DateTimeField("próxima tentativa após", null=True, blank=True)
    # Manual retries so far: each waits longer than the one before (services.submission_retry).
    retries = models.PositiveIntegerField("reenvios manuais", default=0)
    idempotency_key = models.CharField("chave de idempotência", max_length=128, null=True, blank=True)
    # What must not repeat among live submissions of one kind (the DFD's protocolo), as the
    # automation's UNIQUE_FIELD normalises it; the unique index below decides, not a lookup.
    unique_key = models.CharField("chave única", max_length=200, null=True, blank=True)
    deleted_at = models.DateTimeField("excluída em", null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="excluída por", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "submissão"
        verbose_name_plural = "submissões"
        # Granted to roles by accounts.roles (the admin's retry and mark-as-error actions).
        permissions = [("retry_submission", "Pode reenfileirar submissões com erro"),
                       ("fail_submission", "Pode marcar submissões como erro")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=["queued", "running", "done", "error"]),
                                   name="submissions_submission_status_valid"),
            models.UniqueConstraint(fields=["actor", "idempotency_key"], condition=Q(idempotency_key__isnull=False),
                                    name="submissions_submission_idempotency_key"),
            # A withdrawn submission frees its key: the same protocolo may be sent again.
            models.UniqueConstraint(fields=["kind", "unique_key"],
                                    condition=Q(unique_key__isnull=False, deleted_at__isnull=True),
                                    name="submissions_submission_unique_key"),
        ]
        # Lists are newest first by (created_at, id) (submissions.selectors.NEWEST_FIRST): each filter
        # column gets (column, created_at, id) and the whole list (created_at, id), so a page, and a
        # time bound with it, is an index seek from the cursor that stops after the page.
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="submission_created_id"),
            models.Index(fields=["actor", "-created_at", "-id"], name="submission_actor_created"),
            models.Index(fields=["kind", "-created_at", "-id"], name="submission_kind_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="submission_status_created"),
            # Admin search: exact CPF, e-mail prefix (stored lower-case; the opclass makes LIKE 'x%'
            # indexable on PostgreSQL whatever the collation, and is ignored by SQLite).
            models.Index(fields=["actor_cpf"], name="submission_actor_cpf"),
            models.Index(fields=["actor_email"], name="submission_actor_email", opclasses=["varchar_pattern_ops"]),
            # Small partial indexes: rows waiting to run, and running rows by lease for requeue_stale.
            models.Index(fields=["id"], name="submission_queued", condition=Q(status="queued")),
            models.Index(fields=["lease_expires_at"], name="submission_running_lease", condition=Q(status="running")),
            # The dashboard's "failures in the last 24 h": without it the count reads every error row.
            models.Index(fields=["finished_at"], name="submission_error_finished", condition=Q(status="error")),
        ]

    def __str__(self):
        return f"{self.kind} #{self.pk}"


class SubmissionFile(models.Model):
    """A file an automation produced: the blob lives in STORAGES under `storage_name`, generated
    by the server (`results/<yyyy>/<mm>/<uuid>`); users only ever see `name`.

    Rows are written in the transaction that records the run as done, and go with their
    submission (prune); the blobs are deleted when that transaction commits.
    """

    submission = models.ForeignKey(Submission, verbose_name="submissão", on_delete=models.CASCADE,
                                   related_name="files")
    name = models.CharField("nome", max_length=200)
    storage_name = models.CharField("nome no armazenamento", max_length=100, unique=True)
    size = models.PositiveBigIntegerField("tamanho (bytes)")
    content_type = models.CharField("tipo de conteúdo", max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    created_at = models.DateTimeField("criado em", auto_now_add=True)

    class Meta:
        verbose_name = "arquivo de resultado"
        verbose_name_plural = "arquivos de resultado"
        constraints = [models.UniqueConstraint(fields=["submission", "name"], name="submission_file_name")]

    def __str__(self):
        return self.name


class WorkerHeartbeat(models.Model):
    """One row per running `db_worker`, rewritten every WORKER_HEARTBEAT_SECONDS (submissions.workers).

    `/api/health` and the metrics read the newest `seen_at`; `requeue_stale` fails the task rows of a
    worker not seen for three periods (killed with SIGKILL, its machine gone). A worker that stops
    cleanly deletes its own row.
    """

    worker_id = models.CharField("worker", max_length=64, primary_key=True)
    hostname = models.CharField("máquina", max_length=255)
    pid = models.PositiveIntegerField("processo")
    started_at = models.DateTimeField("iniciado em")
    seen_at = models.DateTimeField("visto em", db_index=True)

    class Meta:
        verbose_name = "worker ativo"
        verbose_name_plural = "workers ativos"

    def __str__(self):
        return f"{self.hostname}:{self.pid}"


class TaskRun(DBTaskResult):
    """A row of the task queue (django-tasks-db), as superusers read it in the admin (a proxy: no table).

    Its status is the task's, not the submission's: a run that recorded an automation's error
    ended "successfully" as a task. The admin shows the submission's status next to it.
    """

    class Meta:
        proxy = True
        verbose_name = "tarefa da fila"
        verbose_name_plural = "tarefas da fila"

    def __str__(self):
        return f"{self.function_name} — {self.get_status_display()}"

    @property
    def function_name(self) -> str:
        # Not DBTaskResult.task_name: that imports the task through the backend configured now.
        return self.task_path.rpartition(".")[2]

    @property
    def submission_id(self) -> int | None:
        args = (self.args_kwargs or {}).get("args") or []
        return args[0] if self.task_path.endswith(".run_submission") and args and isinstance(args[0], int) else None
