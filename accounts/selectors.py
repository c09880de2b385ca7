"""Reads for accounts and sessions."""

from typing import Any

from django.db.models import QuerySet

from accounts.models import Session, User

SESSION_LIST_FIELDS = ("id", "public_id", "created_at", "last_seen_at", "expire_date", "ip", "user_agent",
                       "revoked_at")


def user_sessions(user: User) -> QuerySet[Session, dict[str, Any]]:
    """The user's sessions (live, expired and revoked), newest first, as dicts for the API list."""
    return Session.objects.filter(user=user).order_by("-id").values(*SESSION_LIST_FIELDS)


def user_session(user: User, public_id) -> Session | None:
    """One of the user's own sessions; another user's id is simply not found."""
    return Session.objects.filter(user=user, public_id=public_id).only("id", "public_id", "user_id").first()
