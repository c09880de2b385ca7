"""The wrong-password allowance of the public share links: per link and per client address."""

from django.conf import settings
from django.http import HttpRequest

from agepar import counters
from agepar.request_info import client_ip
from fileshare.tokens import hash_token


class PasswordAttempts:
    """FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN / _PER_IP wrong passwords per FILESHARE_PASSWORD_WINDOW.

    On agepar.counters (exact under concurrency, in the database or in Redis, with a window that
    later hits never extend): Django's cache incr() is a read-then-write on the database cache, and
    rewrites the entry with the default timeout.
    """

    def __init__(self, request: HttpRequest, token: str):
        self.keys = [
            (f"fileshare:pw:token:{hash_token(token)}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN),
            (f"fileshare:pw:ip:{client_ip(request) or 'unknown'}", settings.FILESHARE_PASSWORD_ATTEMPTS_PER_IP),
        ]
        self.retry_after: int = settings.FILESHARE_PASSWORD_WINDOW

    def over_limit(self) -> bool:
        """Counts this attempt under every key, then says whether any is over its limit.

        Counting before the (slow) password check closes the race where parallel guesses all read
        the old count and all get checked. Retry-After is then the end of the latest window refusing.
        """
        window = settings.FILESHARE_PASSWORD_WINDOW
        hits = [(counters.hit(key, window), limit) for key, limit in self.keys]  # every key counts, always
        over = [hit for hit, limit in hits if hit.count > limit]
        if over:
            self.retry_after = max(hit.retry_after for hit in over)
        return bool(over)

    def forgive(self) -> None:
        """A right password does not use up the allowance."""
        for key, _ in self.keys:
            counters.forgive(key)
