from rest_framework.permissions import BasePermission

from accounts.roles import has_role


def HasRole(*roles: str) -> type[BasePermission]:  # noqa: N802 (reads like a class in permission_classes)
    """`permission_classes = [HasRole("compras", "rh")]`: any of the roles; admin role and superusers pass.

    Always reads the user's current groups, never a snapshot, so removing a role takes
    effect on the next request.
    """

    class _HasRole(BasePermission):
        message = "Você não tem o papel necessário para esta ação."
        code = "missing_role"

        def has_permission(self, request, view):
            return has_role(request.user, *roles)

    _HasRole.__name__ = f"HasRole({', '.join(roles)})"
    return _HasRole
