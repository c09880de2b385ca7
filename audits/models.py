from django.conf import settings
from django.db import models
from django.db.models.functions import Now


class AppendOnlyError(RuntimeError):
    """Audit events are never changed or deleted through the ORM (retention: `manage.py prune_audits`)."""


class AppendOnlyQuerySet(models.QuerySet):
    # The database triggers refuse these too; failing here first gives a clear Python error
    # instead of a driver error halfway through a transaction.
    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: UPDATE is refused")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: UPDATE is refused")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: DELETE is refused "
                              "(retention: manage.py prune_audits)")


class AppendOnlyModel(models.Model):
    """Rows are inserted, then never changed or deleted (the database refuses it too)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} is append-only: an existing row cannot be saved again")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} is append-only: DELETE is refused "
                              "(retention: manage.py prune_audits)")


class AuditEvent(AppendOnlyModel):
    """One thing that happened: who did what, to what, when and from where. Append-only.

    `actor` is a reference without a database constraint or cascade, and `actor_label`
    snapshots who it was: deleting a user must neither delete nor update audit rows,
    which the database refuses anyway (see the append-only triggers).
    """

    class Status(models.TextChoices):
        SUCCESS = "success", "sucesso"
        FAILURE = "failure", "falha"

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField("quando", db_default=Now())
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="autor", null=True, blank=True,
                              on_delete=models.DO_NOTHING, db_constraint=False, related_name="+")
    actor_label = models.CharField("autor (registro)", max_length=254)
    action = models.CharField("ação", max_length=64)
    status = models.CharField("resultado", max_length=8, choices=Status.choices, default=Status.SUCCESS)
    kind = models.CharField("área", max_length=64, blank=True, default="")
    target_type = models.CharField("tipo do alvo", max_length=64, blank=True, default="")
    target_id = models.CharField("id do alvo", max_length=64, blank=True, default="")
    session_public_id = models.UUIDField("sessão", null=True, blank=True)
    ip = models.GenericIPAddressField("IP", null=True, blank=True)
    user_agent = models.CharField("navegador", max_length=512, blank=True, default="")
    request_id = models.CharField("requisição", max_length=128, blank=True, default="")
    details = models.JSONField("detalhes", default=dict, blank=True)

    class Meta:
        verbose_name = "evento de auditoria"
        verbose_name_plural = "eventos de auditoria"
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=["success", "failure"]),
                                   name="audits_auditevent_status_valid"),
        ]
        # Every list is newest first by (at, id) (audits.selectors.NEWEST_FIRST): each filter gets
        # (column, at, id) and the whole trail (at, id), so a page, and a time bound with it, is an
        # index seek from the cursor that stops after the page.
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_at_id"),
            models.Index(fields=["action", "-at", "-id"], name="audit_action_at"),
            models.Index(fields=["kind", "-at", "-id"], name="audit_kind_at"),
            models.Index(fields=["actor", "-at", "-id"], name="audit_actor_at"),
            models.Index(fields=["status", "-at", "-id"], name="audit_status_at"),
            # target_id first: the admin searches by target id alone, the API by (type, id).
            models.Index(fields=["target_id", "target_type", "-at", "-id"], name="audit_target_at"),
            # Prefix search on the actor label in the admin (LIKE 'x%'); the opclass only matters
            # on PostgreSQL with a non-C collation, other databases ignore it.
            models.Index(fields=["actor_label"], name="audit_actor_label_like", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.action} por {self.actor_label}"


class AuditSeal(AppendOnlyModel):
    """A seal over the events with ids first_id..last_id: their count and Merkle root, chained to the
    seal before it by `prev` (docs/audit-seals.md).

    Seals live in their own table, outside retention: pruning (or dropping a monthly partition of)
    old events removes whole seals' events, never the seals, so the chain stays whole. Each seal is
    also written to the trail itself as an `audit.sealed` event holding the same values.
    """

    number = models.PositiveBigIntegerField("selo", primary_key=True)
    version = models.PositiveSmallIntegerField("versão da codificação")
    first_id = models.BigIntegerField("primeiro evento")
    last_id = models.BigIntegerField("último evento")
    count = models.PositiveIntegerField("eventos")
    last_at = models.DateTimeField("evento mais recente")
    root = models.CharField("raiz Merkle", max_length=64)
    prev = models.CharField("selo anterior (hash)", max_length=64)
    hash = models.CharField("hash do selo", max_length=64, unique=True)
    event_id = models.BigIntegerField("evento audit.sealed")
    sealed_at = models.DateTimeField("selado em", db_default=Now())

    class Meta:
        verbose_name = "selo da trilha de auditoria"
        verbose_name_plural = "selos da trilha de auditoria"
        constraints = [
            models.CheckConstraint(condition=models.Q(first_id__lte=models.F("last_id"), count__gte=1),
                                   name="audits_auditseal_range_valid"),
        ]

    def __str__(self):
        return f"selo {self.number} (eventos {self.first_id}–{self.last_id})"
