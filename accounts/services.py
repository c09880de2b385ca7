"""Writes for accounts and sessions. Each runs in one transaction with its audit event."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import lockout
from accounts.models import Session, User
from accounts.roles import has_role, remember_roles
from accounts.sessions import SessionStore
from agepar.errors import AppError, Forbidden, InvalidInput, Throttled
from audits.services import record

FAILURE = "failure"
REASON_LOGOUT = "logout"
REASON_PASSWORD_CHANGED = "senha trocada"  # noqa: S105 (a revoke reason, not a password)
REASON_USER_DEACTIVATED = "usuário desativado"
REASON_BY_OWNER = "revogada pelo titular"
REASON_BY_ADMIN = "revogada pela administração"
REASON_PASSWORD_SET_BY_STAFF = "senha definida pela administração"  # noqa: S105 (a revoke reason)


# --- sign in / out ------------------------------------------------------------------------------
def user_login(*, request: HttpRequest, identifier: str, password: str, remember_me: bool = False) -> User:
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
        SessionStore.of(request).absolute_lifetime = (settings.SESSION_REMEMBER_ME_LIFETIME if remember_me
                                                      else settings.SESSION_ABSOLUTE_LIFETIME)
        if auth.SESSION_KEY in request.session:
            # Signing in again ends the old session: Django would keep its key for the same user.
            request.session.flush()
        # Rotates the session key (a fixated cookie is useless) and binds the new row to the user.
        auth.login(request, user)
        request.session.save()
        # The row's roles snapshot was read just now: the answer lists it without asking again.
        remember_roles(user, SessionStore.of(request).row.roles)
        record("auth.login", actor=user, request=request, kind="auth", target=user,
               details={**attempt, "remember_me": bool(remember_me)})
    return user


def user_logout(*, request: HttpRequest) -> None:
    """Revoke the current session server-side; the cookie is worthless from now on."""
    user = request.user
    with transaction.atomic():
        row = SessionStore.of(request).row
        if row is not None:
            _revoke(Session.objects.filter(pk=row.pk), actor=user, reason=REASON_LOGOUT, request=request,
                    audit=False)
            record("auth.logout", actor=user, request=request, kind="auth",
                   target=("accounts.session", row.public_id))
        auth.logout(request)


# --- passwords ----------------------------------------------------------------------------------
def user_change_password(*, request: HttpRequest, user: User, current_password: str, new_password: str) -> int:
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
        current = SessionStore.of(request).row
        others = Session.objects.filter(user=user)
        revoked = _revoke(others.exclude(pk=current.pk) if current else others, actor=user,
                          reason=REASON_PASSWORD_CHANGED, request=request)
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


def session_revoke(*, session: Session, actor: User, reason: str = REASON_BY_OWNER,
                   request: HttpRequest | None = None) -> bool:
    """Idempotent: False when the session was already revoked."""
    with transaction.atomic():
        return bool(_revoke(Session.objects.filter(pk=session.pk), actor=actor, reason=reason, request=request))


def _within_reach(sessions, actor):
    # Only a superuser ends a superuser's sessions.
    # A subquery, not a join: _revoke locks the rows, and PostgreSQL locks no outer-joined side.
    superusers = User.objects.filter(is_superuser=True).values("pk")
    return sessions if actor.is_superuser else sessions.exclude(user_id__in=superusers)


def sessions_revoke(*, sessions, actor: User, reason: str = REASON_BY_ADMIN, request: HttpRequest | None = None) -> int:
    """The admin's bulk revocation (a superuser's sessions only by a superuser)."""
    with transaction.atomic():
        return _revoke(_within_reach(sessions, actor), actor=actor, reason=reason or REASON_BY_ADMIN,
                       request=request)


def sessions_revoke_others(*, request: HttpRequest, user: User) -> int:
    current = SessionStore.of(request).row
    others = Session.objects.filter(user=user)
    with transaction.atomic():
        return _revoke(others.exclude(pk=current.pk) if current else others,
                       actor=user, reason=REASON_BY_OWNER, request=request)


def user_sessions_revoke_all(*, users, actor: User, reason: str = REASON_BY_ADMIN,
                             request: HttpRequest | None = None) -> int:
    with transaction.atomic():
        return _revoke(_within_reach(Session.objects.filter(user__in=users), actor), actor=actor,
                       reason=reason or REASON_BY_ADMIN, request=request)


def user_deactivate(*, user: User, actor: User, reason: str = "", request: HttpRequest | None = None) -> bool:
    """Deactivate and revoke every session, in one transaction. False if already inactive."""
    if user.is_superuser and not actor.is_superuser:
        raise Forbidden("Somente um superusuário pode alterar outro superusuário.")
    with transaction.atomic():
        # One conditional UPDATE: two admins deactivating at once record one event.
        changed = User.objects.filter(pk=user.pk, is_active=True).update(is_active=False, updated_at=timezone.now())
        revoked = _revoke(Session.objects.filter(user=user), actor=actor, reason=REASON_USER_DEACTIVATED,
                          request=request)
        if changed:
            record("user.deactivated", actor=actor, request=request, kind="users", target=user,
                   details={"sessions_revoked": revoked, **({"reason": reason} if reason else {})})
        user.is_active = False
    return bool(changed)


# --- users, as staff manage them in the admin -----------------------------------------------------
# Flags whose before → after the audit event keeps; other fields are named, their values not kept.
USER_FLAGS = ("is_active", "is_staff", "is_superuser", "must_change_password")
USER_FIELDS = ("email", "nome", "cpf")


def _permission_codes(groups) -> set[str]:
    return {f"{app_label}.{codename}" for app_label, codename in
            Group.permissions.through.objects.filter(group__in=groups)
            .values_list("permission__content_type__app_label", "permission__codename")}


def user_grant_errors(*, actor: User, before: User | None, after: User, roles=None) -> list[str]:
    """Why `actor` may not turn `before` (None: a new user) into `after` with `roles`; empty if it may.

    Superusers may do anything. Anyone else may not touch a superuser, grant or take away staff or
    superuser status, change their own roles, or grant or take away a role they could not use
    themselves (one they do not hold, or whose permissions they lack): nobody raises their own
    privileges, nor anyone else's above their own.
    """
    if actor.is_superuser:
        return []
    errors = []
    if before is not None and before.is_superuser:
        errors.append("Somente um superusuário pode alterar outro superusuário.")
    for flag, label in (("is_superuser", "superusuário"), ("is_staff", "acesso à administração")):
        if getattr(after, flag) != (getattr(before, flag) if before is not None else False):
            errors.append(f"Somente um superusuário pode conceder ou retirar “{label}”.")
    if roles is not None:
        old = set(before.groups.all()) if before is not None else set()
        touched = old.symmetric_difference(roles)
        if touched and before is not None and before.pk == actor.pk:
            errors.append("Você não pode alterar os próprios papéis.")
        else:
            own = actor.get_all_permissions()
            for group in sorted(touched, key=lambda group: group.name):
                if not has_role(actor, group.name) or not _permission_codes([group]) <= own:
                    errors.append(f"Você não pode conceder nem retirar o papel “{group.name}”.")
    return errors


# The trail's name for must_change_password: record() redacts every key that says "password".
_STATE_KEYS = {"must_change_password": "must_change"}
_BEFORE_AFTER = {*(_STATE_KEYS.get(flag, flag) for flag in USER_FLAGS), "roles"}


def _user_state(user: User, roles) -> dict:
    return {**{_STATE_KEYS.get(field, field): getattr(user, field) for field in (*USER_FIELDS, *USER_FLAGS)},
            "roles": sorted(group.name for group in roles)}


def user_save(*, user: User, actor: User, roles=None, reason: str = "", request: HttpRequest | None = None) -> User:
    """Create `user` (no pk yet) or save the changes made to it, with its roles, in one transaction.

    The event (`user.created` / `user.changed`) names the fields that changed and keeps before →
    after of roles and flags; never a password. A new user's password was set by staff, so they
    must change it. Deactivating revokes every session in the same transaction. Refuses (Forbidden)
    what user_grant_errors refuses.
    """
    created = user.pk is None
    with transaction.atomic():
        before = None if created else User.objects.select_for_update().get(pk=user.pk)
        errors = user_grant_errors(actor=actor, before=before, after=user, roles=roles)
        if errors:
            raise Forbidden(" ".join(errors))
        old = _user_state(before, before.groups.all()) if before is not None else {}
        if created:
            user.must_change_password = True
        user.save()
        if roles is not None:
            user.groups.set(roles)
        new = _user_state(user, roles if roles is not None else user.groups.all())
        changed = [field for field in new if old.get(field) != new[field]]
        details: dict[str, object] = {"fields": changed,
                                      "changes": {field: {"before": old.get(field), "after": new[field]}
                                                  for field in changed if field in _BEFORE_AFTER}}
        if before is not None and before.is_active and not user.is_active:
            details["sessions_revoked"] = _revoke(Session.objects.filter(user=user), actor=actor,
                                                  reason=REASON_USER_DEACTIVATED, request=request)
        if reason:
            details["reason"] = reason
        if created or changed:
            record("user.created" if created else "user.changed", actor=actor, request=request, kind="users",
                   target=user, details=details)
    return user


def user_set_password(*, user: User, password: str | None, actor: User, request: HttpRequest | None = None) -> User:
    """Staff set (or, with None, disable) a person's password: they must change it at their next
    sign-in, and their sessions end. Setting one's own password keeps one's own session."""
    with transaction.atomic():
        if user.is_superuser and not actor.is_superuser:
            raise Forbidden("Somente um superusuário pode alterar outro superusuário.")
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        own = user.pk == actor.pk
        user.must_change_password = not own
        user.save(update_fields=["password", "must_change_password", "updated_at"])
        sessions = Session.objects.filter(user=user)
        current = SessionStore.of(request).row if own and request is not None else None
        if current is not None:
            sessions = sessions.exclude(pk=current.pk)
        revoked = _revoke(sessions, actor=actor, reason=REASON_PASSWORD_SET_BY_STAFF, request=request)
        record("user.password_set", actor=actor, request=request, kind="users", target=user,
               details={"usable": password is not None, "must_change": user.must_change_password,
                        "sessions_revoked": revoked})
    return user


def group_save(*, group: Group, permissions, actor: User, request: HttpRequest | None = None) -> Group:
    """A superuser's edit of a group (name, permissions), with before → after in its event."""
    created = group.pk is None
    with transaction.atomic():
        old_name = None if created else Group.objects.select_for_update().get(pk=group.pk).name
        old = set() if created else _permission_codes([group])
        group.save()
        group.permissions.set(permissions)
        new = _permission_codes([group])
        if created or old != new or old_name != group.name:
            record("group.created" if created else "group.changed", actor=actor, request=request, kind="users",
                   target=group, details={"name": {"before": old_name, "after": group.name},
                                          "permissions_added": sorted(new - old),
                                          "permissions_removed": sorted(old - new)})
    return group


def sessions_clear_expired(*, now=None) -> tuple[int, int]:
    """Delete expired sessions, and revoked ones older than SESSION_REVOKED_RETENTION, in batches.

    Returns (expired deleted, revoked deleted).
    """
    return Session.objects.clear_expired(now or timezone.now())
