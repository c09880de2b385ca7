"""Session engine (SESSION_ENGINE = "accounts.sessions"): revocable server-side sessions.

Built on Django's documented extension point (a `SessionStore` over an `AbstractBaseSession`
model). What it adds to the database engine:
- the table stores SHA-256(key), never the key itself;
- a session is alive only while not revoked, not idle-expired (`expire_date`) and not past its
  absolute lifetime; anything else loads as "no session", so the next request is anonymous;
- loading the session also loads its user (one query), and `last_seen_at`/`expire_date` are
  pushed forward at most once per SESSION_TOUCH_INTERVAL (or half the idle timeout, if shorter), so
  most requests write nothing;
- the row records user, IP, user agent and a roles snapshot. The IP and user agent come from
  the request through `accounts.middleware.SessionMiddleware`; stores built without a request
  (the test client's force_login, shell scripts) leave them empty.

Outside the request path it behaves like Django's database engine (Django's own session-backend
tests run against it: tests/accounts/test_django_session_suite.py): a store without a key loads
as empty, `exists(None)` is False, `set_expiry()` is written to the row's `expire_date` on the next
save. Deliberate differences (docs/security.md, "The session engine and Django's database engine"):
rows are found by the key's hash only; ending a signed-in session revokes its row instead of
deleting it; `set_expiry()` can shorten a session but never take it past its absolute lifetime;
`cycle_key()` keeps a signed-in session's absolute end; a save of a session revoked or expired
meanwhile raises UpdateError instead of bringing it back.
"""

import hashlib
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.contrib.sessions.backends.db import SessionStore as DBSessionStore
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, router, transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.roles import role_names
from accounts.session_loader import load_session

# Where SessionBase.set_expiry() keeps its value: seconds of inactivity (int), a fixed end (ISO text),
# 0 for "at browser close".
EXPIRY_KEY = "_session_expiry"

# Reasons written to `revoke_reason` by the system (staff type their own in the admin).
REASON_KEY_ROTATED = "chave trocada"
REASON_ENDED = "encerrada"


def hash_key(session_key: str) -> str:
    """Keys are 32 random characters (~165 bits), so a plain SHA-256 cannot be brute-forced."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def _user_id(data: dict):
    value = data.get(auth.SESSION_KEY)
    return int(value) if value not in (None, "") else None


def _roles_of(user_id) -> list[str]:
    """The roles snapshot of a row bound to `user_id`."""
    return role_names(user_id) if user_id else []


class SessionStore(DBSessionStore):
    def __init__(self, session_key: str | None = None, *, ip: str | None = None, user_agent: str = ""):
        super().__init__(session_key)
        self.ip = ip
        self.user_agent = user_agent
        # Seconds of absolute lifetime for the next row this store creates (remember me sets it).
        self.absolute_lifetime: int | None = None
        self._row = None
        self._inherit_absolute = None
        self._delete_reason = REASON_ENDED
        self._expiry_changed = False

    @classmethod
    def get_model_class(cls):
        from accounts.models import Session

        return Session

    # --- what the rest of the project reads -------------------------------------------------
    @property
    def public_id(self):
        """The id the API, the admin and audit events show; loads the session if needed."""
        self._get_session()
        return self._row.public_id if self._row is not None else None

    @property
    def row(self):
        self._get_session()
        return self._row

    @classmethod
    def of(cls, request: HttpRequest) -> "SessionStore":
        """`request.session`, typed as this engine's store (SESSION_ENGINE is accounts.sessions everywhere)."""
        session = request.session
        if not isinstance(session, cls):
            raise ImproperlyConfigured("SESSION_ENGINE must be accounts.sessions")
        return session

    def bound_user(self):
        """The user of this session's row (loaded with it), or None."""
        row = self.row
        return row.user if row is not None and row.user_id is not None else None

    def get_expiry_age(self, **kwargs):
        # The cookie may live as long as the session could; idle expiry is enforced here, not by it. An
        # expiry chosen with set_expiry() is Django's, within the absolute lifetime.
        row = self._row
        if row is None:
            return super().get_expiry_age(**kwargs)
        absolute = max(0, int((row.absolute_expires_at - timezone.now()).total_seconds()))
        if kwargs.get("expiry", self.get(EXPIRY_KEY)):
            return min(super().get_expiry_age(**kwargs), absolute)
        return absolute

    def set_expiry(self, value):
        super().set_expiry(value)
        self._expiry_changed = True  # the next save writes the row's expire_date

    async def aset_expiry(self, value):
        await super().aset_expiry(value)
        self._expiry_changed = True

    @staticmethod
    def _idle_end(now, data) -> datetime:
        """When the row idles out unless used again: what set_expiry() chose, else SESSION_IDLE_TIMEOUT."""
        expiry = data.get(EXPIRY_KEY)
        if isinstance(expiry, str):  # a fixed end: set_expiry(datetime or timedelta)
            return datetime.fromisoformat(expiry)
        if expiry:  # seconds of inactivity; 0 ("at browser close") keeps the idle timeout
            return now + timedelta(seconds=expiry)
        return now + timedelta(seconds=settings.SESSION_IDLE_TIMEOUT)

    def get_session_cookie_age(self):
        return settings.SESSION_ABSOLUTE_LIFETIME

    # --- loading --------------------------------------------------------------------------------
    def load(self):
        now = timezone.now()
        self._row = None
        row = None
        if self.session_key is not None:  # a store made without a key (or a malformed one) has no row
            row = load_session(self.model, hash_key(self.session_key), using=router.db_for_read(self.model))
        if row is None or not row.is_alive(now):
            self._session_key = None
            return {}
        data = self.decode(row.session_data)
        self._row = row
        self._touch(row, now, data)
        return data

    async def aload(self):
        # The same query as the sync path: the row, its user and the user's roles.
        return await sync_to_async(self.load)()

    @staticmethod
    def _touch_interval(data) -> timedelta:
        """SESSION_TOUCH_INTERVAL, but at most half the inactivity window in effect.

        A use only moves the idle end once the last touch is this old, so a session used every u
        seconds stays alive while interval + u <= window: with a 60 s interval and a 10 s
        SESSION_IDLE_TIMEOUT, a session used every 3 s died. Half the window keeps any session used at
        least every half window alive.
        """
        expiry = data.get(EXPIRY_KEY)
        window = expiry if expiry and not isinstance(expiry, str) else settings.SESSION_IDLE_TIMEOUT
        return timedelta(seconds=min(settings.SESSION_TOUCH_INTERVAL, window / 2))

    def _touch(self, row, now, data):
        if now - row.last_seen_at < self._touch_interval(data):
            return
        expire = min(self._idle_end(now, data), row.absolute_expires_at)
        # Concurrent requests of one session race to touch it; matching the old last_seen_at lets
        # one of them write and the others skip, and a revoked row is never revived.
        self.model.objects.filter(pk=row.pk, last_seen_at=row.last_seen_at, revoked_at__isnull=True).update(
            last_seen_at=now, expire_date=expire)
        row.last_seen_at, row.expire_date = now, expire

    def exists(self, session_key):
        # Asked when picking a fresh key (the unique index settles any collision anyway) and by callers.
        if not session_key:
            return False
        return self.model.objects.filter(key_hash=hash_key(session_key)).alive(timezone.now()).exists()

    async def aexists(self, session_key):
        if not session_key:
            return False
        return await self.model.objects.filter(key_hash=hash_key(session_key)).alive(timezone.now()).aexists()

    # --- creating and saving --------------------------------------------------------------------
    def _absolute_expiry(self, now):
        if self.absolute_lifetime is not None:
            return now + timedelta(seconds=self.absolute_lifetime)
        if self._inherit_absolute is not None:
            return self._inherit_absolute
        return now + timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME)

    def _new_row(self, session_key, data, roles):
        now = timezone.now()
        absolute = self._absolute_expiry(now)
        return self.model(
            key_hash=hash_key(session_key),
            session_data=self.encode(data),
            user_id=_user_id(data),
            roles=roles,
            ip=self.ip,
            user_agent=(self.user_agent or "")[:512],
            created_at=now,
            last_seen_at=now,
            absolute_expires_at=absolute,
            expire_date=min(self._idle_end(now, data), absolute),
        )

    def create_model_instance(self, data):
        return self._new_row(self._get_or_create_session_key(), data, _roles_of(_user_id(data)))

    async def acreate_model_instance(self, data):
        return self._new_row(await self._aget_or_create_session_key(), data,
                             await sync_to_async(_roles_of)(_user_id(data)))

    def _insert(self, obj):
        using = router.db_for_write(self.model, instance=obj)
        try:
            with transaction.atomic(using=using):
                obj.save(force_insert=True, using=using)
        except IntegrityError:
            raise CreateError from None
        self._row = obj
        self._expiry_changed = False

    def _update_fields(self, data, roles):
        """Columns a save may change: the data, the user binding when a login fills it in, and the
        idle end when set_expiry() was called."""
        fields = {"session_data": self.encode(data)}
        if self._expiry_changed and self._row is not None:
            fields["expire_date"] = min(self._idle_end(timezone.now(), data), self._row.absolute_expires_at)
        user_id = _user_id(data)
        if self._row is None or self._row.user_id != user_id:
            fields.update(user_id=user_id, roles=roles)
        return fields

    def _apply(self, fields):
        self._expiry_changed = False
        if self._row is not None and "expire_date" in fields:
            self._row.expire_date = fields["expire_date"]
        if self._row is not None and "user_id" in fields:
            # Assigning user_id drops the cached user object of the previous binding.
            self._row.user_id, self._row.roles = fields["user_id"], fields["roles"]

    def save(self, must_create=False):
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)
        if must_create:
            return self._insert(self.create_model_instance(data))
        if self.session_key is None:  # loading found the session gone: never written back to life
            raise UpdateError
        needs_roles = self._row is None or self._row.user_id != _user_id(data)
        fields = self._update_fields(data, _roles_of(_user_id(data)) if needs_roles else None)
        # A session revoked or expired while this request ran must not be written back to life.
        if not self.model.objects.filter(key_hash=hash_key(self.session_key)).alive(timezone.now()).update(**fields):
            raise UpdateError
        self._apply(fields)

    async def asave(self, must_create=False):
        if self.session_key is None:
            return await self.acreate()
        data = await self._aget_session(no_load=must_create)
        if must_create:
            obj = await self.acreate_model_instance(data)
            return await sync_to_async(self._insert)(obj)
        if self.session_key is None:
            raise UpdateError
        needs_roles = self._row is None or self._row.user_id != _user_id(data)
        roles = await sync_to_async(_roles_of)(_user_id(data)) if needs_roles else None
        fields = self._update_fields(data, roles)
        if not await self.model.objects.filter(key_hash=hash_key(self.session_key)).alive(
                timezone.now()).aupdate(**fields):
            raise UpdateError
        self._apply(fields)

    # --- ending ---------------------------------------------------------------------------------
    def _end(self, session_key):
        """Anonymous rows are simply deleted; a signed-in row is revoked and kept for the record."""
        rows = self.model.objects.filter(key_hash=hash_key(session_key))
        rows.filter(user__isnull=True).delete()
        rows.filter(user__isnull=False, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoke_reason=self._delete_reason)

    def delete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            self._end(session_key)

    async def adelete(self, session_key=None):
        session_key = session_key or self.session_key
        if session_key is not None:
            await sync_to_async(self._end)(session_key)

    def _prepare_cycle(self):
        row = self._row
        # A new key for the same signed-in session keeps its absolute end (no lifetime extension).
        self._inherit_absolute = row.absolute_expires_at if row is not None and row.user_id else None
        self._delete_reason = REASON_KEY_ROTATED

    def cycle_key(self):
        self._get_session()
        self._prepare_cycle()
        try:
            super().cycle_key()
        finally:
            self._delete_reason = REASON_ENDED

    async def acycle_key(self):
        await self._aget_session()
        self._prepare_cycle()
        try:
            await super().acycle_key()
        finally:
            self._delete_reason = REASON_ENDED

    def flush(self):
        super().flush()
        self._row = None

    async def aflush(self):
        await super().aflush()
        self._row = None

    @classmethod
    def clear_expired(cls):
        cls.get_model_class().objects.clear_expired(timezone.now())

    @classmethod
    async def aclear_expired(cls):
        await sync_to_async(cls.clear_expired)()

