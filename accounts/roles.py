"""Roles are Django Groups named as in the old portal. Checks always read the current groups."""

from functools import cache

from django.contrib.auth.models import Group
from django.db import connection

ADMIN = "admin"
ROLES = (
    "admin", "user", "compras", "ferias", "rh", "daf", "dp", "dfq", "dre", "dnr",
    "controle", "auditor", "ca", "cof", "automations.form2json",
)
# Roles that may see everyone's submissions and the audit trail.
OVERSIGHT = ("admin", "controle", "auditor")


def user_roles(user) -> list[str]:
    """The user's current role names, read once per request and cached on the user object (a user
    loaded with its session already carries them: accounts/session_loader.py)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_agepar_roles", None)
    if cached is None:
        cached = _role_names(user.pk)
        user._agepar_roles = cached
    return cached


@cache
def _roles_sql() -> str:
    # Compiled once: the ORM spends ~0.5 ms building this join on every request that checks a role.
    sql, _ = Group.objects.filter(user=0).order_by().values_list("name").query.sql_with_params()
    return sql


def _role_names(user_id) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_roles_sql(), [user_id])
        return sorted(name for (name,) in cursor.fetchall())


def has_role(user, *roles: str) -> bool:
    """True if the user holds any of `roles`; superusers and the admin role pass every check."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    held = set(user_roles(user))
    return ADMIN in held or bool(held.intersection(roles))
