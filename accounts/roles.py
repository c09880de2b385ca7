"""Roles are Django Groups named as in the old portal. Checks always read the current groups.

`role_names_sql` is the one place that knows how a user's role names are read: the session
loader puts it in the session query, `role_names` runs it alone (the engine's snapshot, a user
loaded some other way).
"""

import json

from django.contrib.auth.models import Group
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

ADMIN = "admin"
ROLES = (
    "admin", "user", "compras", "ferias", "rh", "daf", "dp", "dfq", "dre", "dnr",
    "controle", "auditor", "ca", "cof", "automations.form2json",
)
# Roles that may see everyone's submissions and the audit trail.
OVERSIGHT = ("admin", "controle", "auditor")


# A JSON array rather than a joined string: a group name may contain any separator.
_JSON_ARRAY_AGG = {"postgresql": "JSONB_AGG", "sqlite": "JSON_GROUP_ARRAY"}


def column(model: type[Model], name: str) -> str:
    """The database column of a model's concrete field (`pk` names the primary key)."""
    field = model._meta.pk if name == "pk" else model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise LookupError(f"{model.__name__}.{name} has no column")
    return field.column


def role_names_sql(connection: BaseDatabaseWrapper, user_id: str) -> str:
    """A scalar subquery: the names of the groups of the user whose id is the SQL expression `user_id`,
    as a JSON array (NULL when there are none; read it with `parse_role_names`)."""
    q = connection.ops.quote_name
    through = Group.user_set.through  # the user <-> group table
    group, member = q(Group._meta.db_table), q(through._meta.db_table)
    return (f"(SELECT {_JSON_ARRAY_AGG[connection.vendor]}({group}.{q(column(Group, 'name'))}) "  # noqa: S608
            f"FROM {member} INNER JOIN {group} "
            f"ON {group}.{q(column(Group, 'pk'))} = {member}.{q(column(through, 'group'))} "
            f"WHERE {member}.{q(column(through, 'user'))} = {user_id})")


def parse_role_names(value: str | None) -> list[str]:
    return sorted(json.loads(value)) if value is not None else []


def role_names(user_id: int) -> list[str]:
    """The user's current role names, sorted."""
    connection = connections[router.db_for_read(Group)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {role_names_sql(connection, '%s')}", [user_id])
        return parse_role_names(cursor.fetchone()[0])


def remember_roles(user, names: list[str]) -> None:
    """Hand `user` role names read moments ago in this request, so that `user_roles` asks no query."""
    user._agepar_roles = names


def user_roles(user) -> list[str]:
    """The user's current role names, read once per request and kept on the user object (a user
    loaded with its session already carries them: accounts/session_loader.py)."""
    if not getattr(user, "is_authenticated", False):
        return []
    names = getattr(user, "_agepar_roles", None)
    if names is None:
        names = role_names(user.pk)
        remember_roles(user, names)
    return names


def has_role(user, *roles: str) -> bool:
    """True if the user holds any of `roles`; superusers and the admin role pass every check."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    held = set(user_roles(user))
    return ADMIN in held or bool(held.intersection(roles))


# --- What each role opens in the admin --------------------------------------------------------
# The one place that maps portal roles to Django permissions ("app_label.codename"). It is applied
# to the role groups by `init_db` and after every `migrate` (accounts.apps), and documented as the
# table in docs/admin.md. `admin` passes every role check of the API (has_role), so it gets every
# other role's permissions too: adding a role to an admin never widens what the admin can do.
# Only superusers edit groups and permissions, grant staff/superuser status and see the lockout
# and task-queue screens: no role carries a permission of `auth`, `axes` or `django_tasks_db`.
_READ_TRAIL = ("audits.view_auditevent", "submissions.view_submission")
_AUDITOR = (*_READ_TRAIL, "accounts.view_session", "fileshare.view_fileshareitem",
            # Why auditors read users: checking who holds which role is the point of auditing grants.
            "accounts.view_user")
_CONTROLE = (*_READ_TRAIL, "submissions.retry_submission", "submissions.fail_submission")
_ADMIN_OWN = ("accounts.add_user", "accounts.change_user", "accounts.revoke_session",
              "fileshare.expire_fileshareitem", "fileshare.delete_fileshareitem")
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "auditor": _AUDITOR,
    "controle": _CONTROLE,
    ADMIN: tuple(sorted({*_AUDITOR, *_CONTROLE, *_ADMIN_OWN})),
}


def role_permissions(role: str) -> set[str]:
    return set(ROLE_PERMISSIONS.get(role, ()))


def apply_role_permissions(missing_ok: bool = False) -> dict[str, int]:
    """Create the missing role groups and give each exactly the permissions of ROLE_PERMISSIONS.

    Idempotent: a second run changes nothing. A permission granted by hand to a role group is
    taken away again, so the table stays the truth (grant extras through a group of its own).
    A permission the table names that does not exist is an error, unless `missing_ok`: after a
    partial `migrate app 00NN` the later models (and their permissions) are not there yet, and
    the migrate that creates them applies the rest.
    Returns {"groups_created": n, "groups_changed": n}.
    """
    from django.contrib.auth.models import Permission
    from django.db import transaction
    from django.db.models import Q

    wanted = {name: role_permissions(name) for name in ROLES}
    codes = {code for codes in wanted.values() for code in codes}
    lookup = Q(pk__in=[])
    for code in codes:
        app_label, codename = code.split(".")
        lookup |= Q(content_type__app_label=app_label, codename=codename)
    by_code = {f"{p.content_type.app_label}.{p.codename}": p
               for p in Permission.objects.filter(lookup).select_related("content_type")}
    missing = codes - by_code.keys()
    if missing and not missing_ok:
        raise LookupError(f"permissions named in accounts.roles do not exist: {sorted(missing)}")
    wanted = {name: held & by_code.keys() for name, held in wanted.items()}
    with transaction.atomic():
        existing = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
        Group.objects.bulk_create([Group(name=name) for name in ROLES if name not in existing])
        changed = 0
        for group in Group.objects.filter(name__in=ROLES).prefetch_related("permissions__content_type"):
            held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
            if held != wanted[group.name]:
                group.permissions.set([by_code[code] for code in wanted[group.name]])
                changed += 1
    return {"groups_created": len(ROLES) - len(existing), "groups_changed": changed}
