"""Sign-in lockout: at most LOGIN_FAILURE_LIMIT password checks per account, and as many per client
address, in each LOGIN_LOCKOUT_WINDOW.

Every password check (a sign-in through the API or the admin, the current password asked by
change-password) first takes a slot in two exact counters (agepar.counters): the account's, then
the client address's (not taken when the account refuses). The account is the user the identifier
names, whichever identifier or spelling named it (CPF with or without punctuation, e-mail in any
case); an identifier that names nobody is counted under its normalised form, so locking and answers
are the same whether the account exists or not. Counting before checking is what makes the limit
exact: 30 parallel guesses get 5 checks.

A failed check keeps its slot. A right password frees its account's slots (its owner proved they
know it) and gives back its own slot of the address, and touches no other account: signing in to
one's own account between guesses at another buys nothing. A refused attempt checks no password
and writes nothing, except one `auth.locked_out` event for the first refusal of each lock and
window (a client hammering a locked account wrote one audit row per request before, ~140 rows/s,
rows nobody may delete for a year). Windows are fixed: a lock ends LOGIN_LOCKOUT_WINDOW after the
attempt that opened the window, however often the attacker keeps trying.
"""

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction

from accounts.identifiers import find_user, normalize_identifier
from agepar import counters
from agepar.request_info import client_ip
from audits.services import record

LOCKED_OUT_DETAIL = "Muitas tentativas de login. Tente novamente mais tarde."
ACCOUNT, ADDRESS = "account", "address"


@dataclass(frozen=True)
class Refusal:
    scope: str  # ACCOUNT or ADDRESS: which lock refused the attempt
    hit: counters.Hit

    @property
    def retry_after(self) -> int:
        return self.hit.retry_after


class Locked(PermissionDenied):
    """Raised by `begin`. A PermissionDenied, so django.contrib.auth.authenticate() stops at it."""

    def __init__(self, refusal: Refusal):
        super().__init__(LOCKED_OUT_DETAIL)
        self.refusal = refusal


@dataclass(frozen=True)
class Attempt:
    account_key: str
    address_key: str

    def passed(self) -> None:
        """The password was right."""
        counters.reset(self.account_key)
        counters.forgive(self.address_key)


def account_key(identifier: str, user) -> str:
    if user is not None:
        return f"login:account:{user.pk}"
    digest = hashlib.sha256(normalize_identifier(identifier).encode()).hexdigest()[:40]
    return f"login:unknown:{digest}"


def begin(request, *, identifier: str, user) -> Attempt:
    """Take the slots of one password check for `user` (None: `identifier` names nobody).

    Raises Locked when the address or the account has used up its window; `request.login_refusal`
    then tells the sign-in views (and anyone listening to user_login_failed) why.
    """
    address = client_ip(request) if request is not None else None
    attempt = Attempt(account_key(identifier, user), f"login:address:{address or 'unknown'}")
    limit, window = settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_WINDOW
    for scope, key in ((ACCOUNT, attempt.account_key), (ADDRESS, attempt.address_key)):
        hit = counters.hit(key, window)
        if hit.count > limit:
            refusal = Refusal(scope, hit)
            if hit.count == limit + 1:  # exactly one attempt per lock and window sees this value
                with transaction.atomic():
                    record("auth.locked_out", status="failure", request=request, kind="auth",
                           target=user if scope == ACCOUNT else None,
                           details={"identifier": identifier[:254], "scope": scope, "failures": limit,
                                    "until": hit.expires_at.isoformat()})
            if request is not None:
                request.login_refusal = refusal
            raise Locked(refusal)
    return attempt


def refusal_of(request) -> Refusal | None:
    """Why the last sign-in attempt of this request was refused without a password check, if it was."""
    return getattr(request, "login_refusal", None)


def unlock(*, identifier: str | None = None, address: str | None = None) -> None:
    """Lift the lock of an account (named by any of its identifiers) or of an address before its window ends."""
    user = find_user(identifier) if identifier is not None else None
    if identifier is not None:
        counters.reset(account_key(identifier, user))
    if address is not None:
        counters.reset(f"login:address:{address}")
    with transaction.atomic():
        record("auth.lockout_lifted", kind="auth", target=user,
               details={"identifier": (identifier or "")[:254], "address": address or ""})
