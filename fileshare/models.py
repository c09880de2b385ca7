import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class FileShareItemQuerySet(models.QuerySet):
    def live(self, now: datetime | None = None) -> "FileShareItemQuerySet":
        """Not deleted and not expired: the link works (up to its download limit, which the counter checks)."""
        return self.filter(deleted_at__isnull=True, expires_at__gt=now or timezone.now())

    def overdue(self, now: datetime | None = None) -> "FileShareItemQuerySet":
        """Expired but not yet deleted: what cleanup_fileshare deletes next."""
        return self.filter(deleted_at__isnull=True, expires_at__lte=now or timezone.now())


class FileShareItem(models.Model):
    """One shared file. The blob lives in the default storage under `storage_name`.

    The public link token is never stored: only its SHA-256 (`token_hash`). A deleted
    item keeps its row (with `deleted_at`) until the retention purge; its blob goes at once.
    """

    class DeleteReason(models.TextChoices):
        OWNER = "owner", "excluído pelo dono"
        ADMIN = "admin", "excluído por administrador"
        EXPIRED = "expired", "expirado"

    id = models.BigAutoField(primary_key=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="dono", on_delete=models.CASCADE,
                              related_name="shared_files")
    original_name = models.CharField("nome do arquivo", max_length=255)
    storage_name = models.CharField("nome no armazenamento", max_length=100, unique=True)
    size = models.BigIntegerField("tamanho (bytes)")
    content_type = models.CharField("tipo", max_length=120)
    sha256 = models.CharField("SHA-256", max_length=64)
    created_at = models.DateTimeField("criado em", default=timezone.now)
    expires_at = models.DateTimeField("expira em")
    max_downloads = models.PositiveIntegerField("limite de downloads", null=True, blank=True)
    downloads = models.PositiveIntegerField("downloads", default=0)
    token_hash = models.CharField("hash do link", max_length=64, unique=True)
    password = models.CharField("senha (hash)", max_length=128, blank=True, default="")
    deleted_at = models.DateTimeField("excluído em", null=True, blank=True)
    deleted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="excluído por", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    delete_reason = models.CharField("motivo da exclusão", max_length=16, blank=True, default="",
                                     choices=DeleteReason.choices)

    objects = FileShareItemQuerySet.as_manager()

    class Meta:
        verbose_name = "arquivo compartilhado"
        verbose_name_plural = "arquivos compartilhados"
        permissions = [("expire_fileshareitem", "Pode expirar arquivos compartilhados")]  # see accounts.roles
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=0), name="fileshare_size_not_negative"),
            models.CheckConstraint(condition=Q(max_downloads__isnull=True) | Q(max_downloads__gte=1),
                                   name="fileshare_max_downloads_positive"),
        ]
        indexes = [
            # The owner's list (live items, newest first) and the per-user quota sum.
            models.Index(fields=["owner", "-id"], name="fileshare_owner_live",
                         condition=Q(deleted_at__isnull=True)),
            # Cleanup finds expired live items without scanning deleted ones.
            models.Index(fields=["expires_at"], name="fileshare_live_expiry", condition=Q(deleted_at__isnull=True)),
            # Retention purge of long-deleted rows.
            models.Index(fields=["deleted_at"], name="fileshare_deleted_at", condition=Q(deleted_at__isnull=False)),
        ]

    def __str__(self):
        return self.original_name

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    @property
    def status(self) -> str:
        if self.deleted_at is not None:
            return "deleted"
        if self.expires_at <= timezone.now():
            return "expired"
        if self.max_downloads is not None and self.downloads >= self.max_downloads:
            return "exhausted"
        return "live"


class RevokedLink(models.Model):
    """The hash of a link token replaced by a new one: the old link answers 410, not 404 (API.md)."""

    token_hash = models.CharField("hash do link", max_length=64, unique=True)
    item = models.ForeignKey(FileShareItem, verbose_name="arquivo", on_delete=models.CASCADE,
                             related_name="revoked_links")
    revoked_at = models.DateTimeField("revogado em", default=timezone.now)

    class Meta:
        verbose_name = "link revogado"
        verbose_name_plural = "links revogados"

    def __str__(self):
        return f"link revogado de {self.item_id}"


class DirectUploadQuerySet(models.QuerySet):
    def in_flight(self) -> "DirectUploadQuerySet":
        """Not completed, refused or aborted yet: what `complete` and DELETE act on."""
        return self.filter(ended_at__isnull=True)

    def unclaimed(self, now: datetime, *, grace) -> "DirectUploadQuerySet":
        """In flight and not being completed: no claim, or one older than `grace`, longer than a
        `complete` can last (the request that took it died with its process)."""
        return self.in_flight().filter(Q(completing_since__isnull=True) | Q(completing_since__lte=now - grace))

    def abandoned(self, now: datetime, *, grace) -> "DirectUploadQuerySet":
        """Unclaimed past their deadline: what cleanup_fileshare aborts. A `complete` claims an upload
        only before its deadline."""
        return self.unclaimed(now, grace=grace).filter(expires_at__lte=now)

    def spent(self, now: datetime) -> "DirectUploadQuerySet":
        """Ended single PUTs whose presigned URL has expired: what cleanup_fileshare drops."""
        return self.filter(ended_at__isnull=False, expires_at__lte=now)


class DirectUpload(models.Model):
    """A file on its way straight to the bucket (FILESHARE_STORAGE=s3; docs/API.md "Direct uploads").

    The row is the reservation: its `size` and one item count toward the owner's quota from
    `POST /api/fileshare/uploads` until it is completed (it becomes a FileShareItem with the same
    `storage_name`, which counts instead while it is live), refused or aborted. Then a multipart
    upload's row is deleted; a single PUT's is kept, ended (`ended_at`), until `expires_at`: its
    presigned URL can write the key again once the object is deleted (fileshare.direct._end), so the
    row still counts and claims the key until cleanup_fileshare deletes it once more and drops the row.
    The password is kept hashed, as on the item.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="dono", on_delete=models.CASCADE,
                              related_name="direct_uploads")
    original_name = models.CharField("nome do arquivo", max_length=255)
    storage_name = models.CharField("nome no armazenamento", max_length=100, unique=True)
    size = models.BigIntegerField("tamanho declarado (bytes)")
    sha256 = models.CharField("SHA-256 declarado", max_length=64, blank=True, default="")
    # S3's UploadId of the multipart upload; empty for a file sent in one PUT.
    multipart_id = models.CharField("id do envio multipart", max_length=1024, blank=True, default="")
    part_size = models.BigIntegerField("tamanho das partes (bytes)")
    ttl = models.CharField("validade do link", max_length=8)
    password = models.CharField("senha (hash)", max_length=128, blank=True, default="")
    max_downloads = models.PositiveIntegerField("limite de downloads", null=True, blank=True)
    created_at = models.DateTimeField("iniciado em", default=timezone.now)
    expires_at = models.DateTimeField("concluir até")
    # Set by the one `complete` request that claimed the upload (a conditional UPDATE), until it ends.
    completing_since = models.DateTimeField("concluindo desde", null=True, blank=True)
    # When a single PUT was completed, refused or aborted; its row stays until its URL has expired.
    ended_at = models.DateTimeField("encerrado em", null=True, blank=True)

    objects = DirectUploadQuerySet.as_manager()

    class Meta:
        verbose_name = "envio direto"
        verbose_name_plural = "envios diretos"
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=1), name="fileshare_direct_size_positive"),
            models.CheckConstraint(condition=Q(max_downloads__isnull=True) | Q(max_downloads__gte=1),
                                   name="fileshare_direct_max_downloads_positive"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="fileshare_direct_expiry")]

    def __str__(self):
        return self.original_name

    @property
    def part_count(self) -> int:
        return -(-self.size // self.part_size)
