"""The wrong-password allowance of the public share links: per link and per client address."""

import contextlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from agepar.request_info import client_ip
from fileshare.tokens import hash_token


class PasswordAttempts:
    """FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN / _PER_IP wrong passwords per FILESHARE_PASSWORD_WINDOW."""

    def __init__(self, request: HttpRequest, token: str):
        self.keys = [
            (f"fileshare:pw:token:{hash_token(token)}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN),
            (f"fileshare:pw:ip:{client_ip(request) or 'unknown'}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_IP),
        ]
        self.retry_after: int = settings.FILESHARE_PASSWORD_WINDOW

    def over_limit(self) -> bool:
        """Counts this attempt under every key, then says whether any is over its limit.

        Counting before the (slow) password check closes the race where parallel guesses all read
        the old count and all get checked. Atomic with Redis; the database cache's incr is a
        read-then-write, which is why production runs CACHE_URL=redis://... (docs/scaling.md).
        """
        over = False
        for key, limit in self.keys:
            cache.add(key, 0, timeout=settings.FILESHARE_PASSWORD_WINDOW)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: start a new window
                cache.set(key, 1, timeout=settings.FILESHARE_PASSWORD_WINDOW)
                count = 1
            over = over or count > limit
        return over

    def forgive(self) -> None:
        """A right password does not use up the allowance."""
        for key, _ in self.keys:
            with contextlib.suppress(ValueError):  # the window ended meanwhile: nothing to give back
                cache.decr(key)
