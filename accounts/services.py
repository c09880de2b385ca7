"""Writes for accounts and sessions. Each runs in one transaction with its audit event."""

from datetime import timedelta

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import lockout
from accounts.models import Session, User
from agepar.errors import AppError, InvalidInput, Throttled
from audits.services import record

FAILURE = "failure"
REASON_LOGOUT = "logout"
REASON_PASSWORD_CHANGED = "senha trocada"  # noqa: S105 (a revoke reason, not a password)
REASON_USER_DEACTIVATED = "usuário desativado"
REASON_BY_OWNER = "revogada pelo titular"
REASON_BY_ADMIN = "revogada pela administração"
CLEANUP_BATCH = 5000


# --- sign in / out ------------------------------------------------------------------------------
def user_login(*, request, identifier: str, password: str, remember_me: bool = False) -> User:
    """Check the credentials under the sign-in lockout (accounts.lockout) and start a session.

    `request` is the Django HttpRequest: the lockout's verdict and the session live on it. Unknown
    user, wrong password and inactive user all end in the same 400 `invalid_credentials` after one
    password hash; a locked account or address in a 429 `locked_out` without one.
    """
    attempt = {"identifier": identifier[:254]}
    user = auth.authenticate(request, username=identifier, password=password)
    if user is None:
        refusal = lockout.refusal_of(request)
        if refusal is not None:
            # Not audited one by one: accounts.lockout wrote one event for this lock and window.
            raise Throttled(lockout.LOCKED_OUT_DETAIL, "locked_out", retry_after=refusal.retry_after)
        with transaction.atomic():
            record("auth.login", status=FAILURE, request=request, kind="auth", details=attempt)
        raise AppError("Identificador ou senha inválidos.", "invalid_credentials")

    with transaction.atomic():
        request.session.absolute_lifetime = (settings.SESSION_REMEMBER_ME_LIFETIME if remember_me
                                             else settings.SESSION_ABSOLUTE_LIFETIME)
        if auth.SESSION_KEY in request.session:
            # Signing in again ends the old session: Django would keep its key for the same user.
            request.session.flush()
        # Rotates the session key (a fixated cookie is useless) and binds the new row to the user.
        auth.login(request, user)
        request.session.save()
        record("auth.login", actor=user, request=request, kind="auth", target=user,
               details={**attempt, "remember_me": bool(remember_me)})
    return user


def user_logout(*, request) -> None:
    """Revoke the current session server-side; the cookie is worthless from now on."""
    user = request.user
    with transaction.atomic():
        row = request.session.row
        if row is not None:
            _revoke(Session.objects.filter(pk=row.pk), actor=user, reason=REASON_LOGOUT, request=request,
                    audit=False)
            record("auth.logout", actor=user, request=request, kind="auth",
                   target=("accounts.session", row.public_id))
        auth.logout(request)


# --- passwords ----------------------------------------------------------------------------------
def user_change_password(*, request, user: User, current_password: str, new_password: str) -> int:
    """Set a new password, keep this session, revoke the others. Returns how many were revoked.

    The current password is checked under the sign-in lockout, with the same account counter: a
    stolen session gets no more guesses than the sign-in form gives, and no extra ones besides it.
    """
    try:
        check = lockout.begin(request, identifier=user.email, user=user)
    except lockout.Locked as exc:
        raise Throttled(lockout.LOCKED_OUT_DETAIL, "locked_out", retry_after=exc.refusal.retry_after) from None
    if not user.check_password(current_password):
        with transaction.atomic():
            record("auth.password_changed", status=FAILURE, actor=user, request=request, kind="auth", target=user,
                   details={"reason": "wrong_password"})
        raise InvalidInput({"current_password": ["A senha atual está incorreta."]}, "invalid_password")
    check.passed()
    if constant_time_compare(new_password, current_password):
        # must_change_password would be lifted without any change of password.
        raise InvalidInput({"new_password": ["A nova senha deve ser diferente da atual."]}, "same_password")
    try:
        validate_password(new_password, user)
    except DjangoValidationError as exc:
        raise InvalidInput({"new_password": list(exc.messages)}, "weak_password") from None
    with transaction.atomic():
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "must_change_password", "updated_at"])
        # The session carries a hash of the password; refreshing it keeps this one valid, while
        # the others are revoked outright (and would fail the hash check anyway).
        request.session[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
        current = request.session.row
        others = Session.objects.filter(user=user).exclude(pk=current.pk if current else None)
        revoked = _revoke(others, actor=user, reason=REASON_PASSWORD_CHANGED, request=request)
        record("auth.password_changed", actor=user, request=request, kind="auth", target=user,
               details={"sessions_revoked": revoked})
    return revoked


# --- sessions -----------------------------------------------------------------------------------
def _revoke(sessions, *, actor, reason: str, request=None, audit: bool = True) -> int:
    """Revoke the live rows of `sessions`; one audit event per session actually revoked."""
    now = timezone.now()
    # Locked first: two admins (or an admin and the owner) revoking together must not both
    # write an audit event for the same session.
    rows = list(sessions.filter(revoked_at__isnull=True).select_for_update()
                .values_list("pk", "public_id", "user_id"))
    if not rows:
        return 0
    Session.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
        revoked_at=now, revoked_by=actor if getattr(actor, "is_authenticated", False) else None,
        revoke_reason=reason[:200])
    if audit:
        for _, public_id, user_id in rows:
            record("auth.session_revoked", actor=actor, request=request, kind="auth",
                   target=("accounts.session", public_id),
                   details={"session_id": str(public_id), "user_id": user_id, "reason": reason})
    return len(rows)


def session_revoke(*, session: Session, actor, reason: str = REASON_BY_OWNER, request=None) -> bool:
    """Idempotent: False when the session was already revoked."""
    with transaction.atomic():
        return bool(_revoke(Session.objects.filter(pk=session.pk), actor=actor, reason=reason, request=request))


def sessions_revoke(*, sessions, actor, reason: str = REASON_BY_ADMIN, request=None) -> int:
    """The admin's bulk revocation."""
    with transaction.atomic():
        return _revoke(sessions, actor=actor, reason=reason or REASON_BY_ADMIN, request=request)


def sessions_revoke_others(*, request, user: User) -> int:
    current = request.session.row
    with transaction.atomic():
        return _revoke(Session.objects.filter(user=user).exclude(pk=current.pk if current else None),
                       actor=user, reason=REASON_BY_OWNER, request=request)


def user_sessions_revoke_all(*, users, actor, reason: str = REASON_BY_ADMIN, request=None) -> int:
    with transaction.atomic():
        return _revoke(Session.objects.filter(user__in=users), actor=actor, reason=reason, request=request)


def user_deactivate(*, user: User, actor, request=None) -> bool:
    """Deactivate and revoke every session, in one transaction. False if already inactive."""
    with transaction.atomic():
        # One conditional UPDATE: two admins deactivating at once record one event.
        changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False, updated_at=timezone.now())
        revoked = _revoke(Session.objects.filter(user=user), actor=actor, reason=REASON_USER_DEACTIVATED,
                          request=request)
        if changed:
            record("user.deactivated", actor=actor, request=request, kind="users", target=user,
                   details={"sessions_revoked": revoked})
        user.is_active = False
    return bool(changed)


def sessions_clear_expired(*, now=None) -> tuple[int, int]:
    """Delete expired sessions, and revoked ones older than SESSION_REVOKED_RETENTION, in batches.

    Returns (expired deleted, revoked deleted).
    """
    now = now or timezone.now()
    expired = Session.objects.filter(Q(expire_date__lte=now) | Q(absolute_expires_at__lte=now),
                                     revoked_at__isnull=True)
    old_revoked = Session.objects.filter(revoked_at__lt=now - timedelta(seconds=settings.SESSION_REVOKED_RETENTION))
    return _delete_in_batches(expired), _delete_in_batches(old_revoked)


def _delete_in_batches(queryset) -> int:
    total = 0
    while True:
        # Short transactions: a cleanup of millions of rows never holds locks for long.
        with transaction.atomic():
            pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:CLEANUP_BATCH])
            if not pks:
                return total
            deleted, _ = Session.objects.filter(pk__in=pks).delete()
        total += deleted
