import uuid
from datetime import datetime, timedelta
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession, BaseSessionManager
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.cpf import normalize_cpf, validate_cpf


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("email is required")
        user = self.model(email=email, **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        fields.setdefault("must_change_password", False)
        return self._create(email, password, **fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Roles are Django Groups (see accounts.roles)."""

    email = models.EmailField("e-mail", max_length=254, unique=True,
                              error_messages={"unique": "Já existe um usuário com este e-mail."})
    cpf = models.CharField("CPF", max_length=11, null=True, blank=True, unique=True, validators=[validate_cpf])
    nome = models.CharField("nome", max_length=200)
    is_active = models.BooleanField("ativo", default=True)
    is_staff = models.BooleanField("acesso à administração", default=False)
    must_change_password = models.BooleanField("deve trocar a senha", default=True)
    created_at = models.DateTimeField("criado em", auto_now_add=True)
    updated_at = models.DateTimeField("atualizado em", auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["nome"]

    class Meta:
        verbose_name = "usuário"
        verbose_name_plural = "usuários"
        constraints = [
            # Emails are stored lower-cased, which makes the plain unique index case-insensitive;
            # the database refuses any write path (bulk, raw SQL) that skips the normalisation.
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="accounts_user_email_lowercase"),
            models.CheckConstraint(condition=models.Q(cpf__isnull=True) | models.Q(cpf__regex=r"^[0-9]{11}$"),
                                   name="accounts_user_cpf_digits"),
        ]

    def __str__(self):
        return self.email

    def _normalize(self):
        self.email = (self.email or "").strip().lower()
        self.cpf = normalize_cpf(self.cpf) or None

    def clean_fields(self, exclude=None):
        # Normalised before validation, so `529.982.247-25` is judged as the 11 digits we store.
        self._normalize()
        super().clean_fields(exclude=exclude)

    def save(self, *args, **kwargs):
        # And on every save, so that every write path (admin, shell, services) stores the same form.
        self._normalize()
        super().save(*args, **kwargs)

    def get_full_name(self):
        return self.nome

    def get_short_name(self):
        return self.nome.split(" ")[0] if self.nome else self.email


class SessionQuerySet(models.QuerySet):
    """Which sessions are alive, which are dead: the one definition the engine, services and admin use."""

    CLEAR_BATCH = 5000

    def alive(self, now: datetime) -> "SessionQuerySet":
        """Not revoked, not idle-expired, not past the absolute lifetime (Session.is_alive, in SQL)."""
        return self.filter(revoked_at__isnull=True, expire_date__gt=now, absolute_expires_at__gt=now)

    def expired(self, now: datetime) -> "SessionQuerySet":
        """Dead by time (idle or absolute), never revoked."""
        return self.filter(models.Q(expire_date__lte=now) | models.Q(absolute_expires_at__lte=now),
                           revoked_at__isnull=True)

    def clear_expired(self, now: datetime) -> tuple[int, int]:
        """Delete expired rows, and revoked ones older than SESSION_REVOKED_RETENTION (kept that long for
        the record), in batches. Returns (expired deleted, revoked deleted)."""
        retention = timedelta(seconds=settings.SESSION_REVOKED_RETENTION)
        return (self.expired(now)._delete_in_batches(),
                self.filter(revoked_at__lt=now - retention)._delete_in_batches())

    def _delete_in_batches(self) -> int:
        total = 0
        while True:
            # Short transactions: a cleanup of millions of rows never holds locks for long.
            with transaction.atomic(using=self.db):
                pks = list(self.order_by("pk").values_list("pk", flat=True)[:self.CLEAR_BATCH])
                if not pks:
                    return total
                deleted, _ = self.model._default_manager.using(self.db).filter(pk__in=pks).delete()
            total += deleted


class Session(AbstractBaseSession):
    """A server-side sign-in session (the engine is accounts.sessions.SessionStore).

    The cookie carries a random key; the table keeps only its SHA-256 (`key_hash`), so neither
    a database dump nor the admin can replay a session. `public_id` is what people see.
    """

    id = models.BigAutoField(primary_key=True)
    # Django's abstract model makes the clear-text key the primary key; we store its hash instead.
    session_key = None  # type: ignore[assignment]  # Django's documented way to drop an inherited field
    key_hash = models.CharField("hash da chave", max_length=64, unique=True, editable=False)
    public_id = models.UUIDField("identificador", default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="usuário", null=True, blank=True,
                             on_delete=models.CASCADE, related_name="sessions")
    ip = models.GenericIPAddressField("IP", null=True, blank=True)
    user_agent = models.CharField("navegador", max_length=512, blank=True, default="")
    roles = models.JSONField("papéis no login", default=list, blank=True)
    created_at = models.DateTimeField("criada em", default=timezone.now)
    last_seen_at = models.DateTimeField("último acesso", default=timezone.now)
    absolute_expires_at = models.DateTimeField("fim absoluto")
    revoked_at = models.DateTimeField("revogada em", null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="revogada por", null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    revoke_reason = models.CharField("motivo da revogação", max_length=200, blank=True, default="")

    # Django's session manager (encode) with our queryset.
    objects: ClassVar = BaseSessionManager.from_queryset(SessionQuerySet)()

    class Meta:
        verbose_name = "sessão"
        verbose_name_plural = "sessões"
        permissions = [("revoke_session", "Pode revogar sessões")]  # granted to roles by accounts.roles
        indexes = [
            # "my sessions, newest first" and the admin's per-user filter.
            models.Index(fields=["user", "-id"], name="session_user_id"),
            models.Index(fields=["absolute_expires_at"], name="session_absolute_exp"),
            models.Index(fields=["revoked_at"], name="session_revoked_at"),
        ]

    def __str__(self):
        return str(self.public_id)

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore

    def is_alive(self, now: datetime) -> bool:
        """SessionQuerySet.alive for one row already loaded."""
        return self.revoked_at is None and self.expire_date > now and self.absolute_expires_at > now

    def status_at(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.is_alive(now) else "expired"

