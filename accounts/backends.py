"""Sign-in with a CPF (with or without punctuation) or an e-mail, case-insensitive."""

from django.contrib.auth.backends import ModelBackend

from accounts.cpf import normalize_cpf
from accounts.models import User

IDENTIFIER_MAX = 254


def normalize_identifier(identifier: str) -> str:
    """The form we look up and count lockouts by: lower-cased e-mail, or CPF digits."""
    text = (identifier or "").strip()[:IDENTIFIER_MAX]
    if "@" in text:
        return text.lower()
    digits = normalize_cpf(text)
    return digits if len(digits) == 11 and digits.isdigit() else text.lower()


def find_user(identifier: str) -> User | None:
    key = normalize_identifier(identifier)
    if not key:
        return None
    lookup = {"email": key} if "@" in key else {"cpf": key} if key.isdigit() and len(key) == 11 else None
    if lookup is None:
        return None
    return User.objects.filter(**lookup).first()


def lockout_identifier(request, credentials) -> str | None:
    """AXES_USERNAME_CALLABLE: `529.982.247-25` and `52998224725` count as the same identifier."""
    value = (credentials or {}).get("username")
    if value is None:
        data = getattr(request, "data", None) or request.POST
        value = data.get("username") or data.get("identifier")
    return normalize_identifier(value)[:255] if value else None


class IdentifierBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        user = find_user(username)
        if user is None:
            # Hash anyway, so an unknown identifier costs what a wrong password costs.
            User().set_password(password)
            return None
        # Inactive users go through the same hash before being refused: same answer, same time.
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
