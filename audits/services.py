"""The one way to write the audit trail."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from agepar.request_info import client_ip, user_agent
from audits.models import AuditEvent

# Keys whose values must never be stored, however a caller builds `details`.
_SECRET_KEYS = ("password", "senha", "token", "secret", "session_key", "sessionid", "csrf")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if any(s in str(k).lower() for s in _SECRET_KEYS) else _scrub(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    return value


def actor_label_for(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return user.email or user.cpf or f"user:{user.pk}"


def _target(target) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, models.Model):
        return target._meta.label_lower, str(target.pk)
    target_type, target_id = target
    return str(target_type), str(target_id)


def record(
    action: str,
    *,
    status: str = AuditEvent.Status.SUCCESS,
    actor=None,
    actor_label: str | None = None,
    request=None,
    kind: str = "",
    target=None,
    details: dict | None = None,
) -> AuditEvent:
    """Append one event: a single INSERT, inside the caller's transaction.

    Call it inside the `transaction.atomic()` block of the change it records, so that both
    commit or roll back together. `actor` defaults to the request's user; `target` is a
    model instance or a `(type, id)` pair; secrets in `details` are replaced by "[redacted]".
    """
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        actor = user if getattr(user, "is_authenticated", False) else None
    target_type, target_id = _target(target)
    session = getattr(request, "session", None) if request is not None else None
    # Round-trip through the encoder so dates, UUIDs and Decimals are stored as JSON strings.
    cleaned = json.loads(DjangoJSONEncoder().encode(_scrub(details or {})))
    return AuditEvent.objects.create(
        action=action,
        status=status,
        actor=actor,
        actor_label=(actor_label or actor_label_for(actor))[:254],
        kind=kind or "",
        target_type=target_type,
        target_id=target_id,
        # The session engine exposes its public id; the session key itself is never recorded.
        session_public_id=getattr(session, "public_id", None),
        ip=client_ip(request) if request is not None else None,
        user_agent=user_agent(request) if request is not None else "",
        request_id=getattr(request, "request_id", "") if request is not None else "",
        details=cleaned,
    )
