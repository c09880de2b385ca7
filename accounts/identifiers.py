"""How a typed sign-in identifier (a CPF with or without punctuation, or an e-mail) names an account."""

from accounts.cpf import normalize_cpf
from accounts.models import User

IDENTIFIER_MAX = 254


def normalize_identifier(identifier: str) -> str:
    """The form we look up by: lower-cased e-mail, or CPF digits."""
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
