"""Roles are Django Groups named as in the old portal. Checks always read the current groups."""

ADMIN = "admin"
ROLES = (
    "admin", "user", "compras", "ferias", "rh", "daf", "dp", "dfq", "dre", "dnr",
    "controle", "auditor", "ca", "cof", "automations.form2json",
)
# Roles that may see everyone's submissions and the audit trail.
OVERSIGHT = ("admin", "controle", "auditor")


def user_roles(user) -> list[str]:
    """The user's current role names, read once per request and cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_agepar_roles", None)
    if cached is None:
        cached = sorted(user.groups.values_list("name", flat=True))
        user._agepar_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    """True if the user holds any of `roles`; superusers and the admin role pass every check."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    held = set(user_roles(user))
    return ADMIN in held or bool(held.intersection(roles))
