"""Share-link tokens: a random secret shown once, of which the database keeps only the SHA-256."""

import hashlib
import secrets

# token_urlsafe(32) gives 43 characters; anything much longer was not made by us.
MAX_LENGTH = 128


def new_token() -> tuple[str, str]:
    """A link token and the SHA-256 that is all the database keeps of it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str) -> bool:
    """False for what cannot be a token of ours (nothing to look up)."""
    return 0 < len(token) <= MAX_LENGTH
