"""The admin's sign-ins and sign-outs in the audit trail, from Django's auth signals.

The API's login and logout (accounts.services) record their own events with more detail, so these
receivers record only what comes through the admin's door (the admin site's URLs). Connected by
AccountsConfig.ready. Lockouts are audited by accounts.lockout for every door.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from accounts import lockout
from accounts.identifiers import IDENTIFIER_MAX
from audits.services import record

FAILURE = "failure"
VIA_ADMIN = {"via": "admin"}


def _through_admin(request) -> bool:
    match = getattr(request, "resolver_match", None)
    return match is not None and match.app_name == "admin"


def _identifier(value) -> str:
    return str(value or "")[:IDENTIFIER_MAX]


@receiver(user_logged_in, dispatch_uid="accounts.admin_audit.logged_in")
def admin_logged_in(sender, request, user, **kwargs):
    if _through_admin(request):
        record("auth.login", actor=user, request=request, kind="auth", target=user,
               details={"identifier": _identifier(user.email), **VIA_ADMIN})


@receiver(user_login_failed, dispatch_uid="accounts.admin_audit.login_failed")
def admin_login_failed(sender, credentials, request=None, **kwargs):
    # An attempt refused by the lockout checked no password: its auth.locked_out is already written.
    if request is not None and _through_admin(request) and lockout.refusal_of(request) is None:
        record("auth.login", status=FAILURE, request=request, kind="auth",
               details={"identifier": _identifier(credentials.get("username")), **VIA_ADMIN})


@receiver(user_logged_out, dispatch_uid="accounts.admin_audit.logged_out")
def admin_logged_out(sender, request, user, **kwargs):
    # Sent before the session is flushed, so the event still carries its public id.
    if user is not None and _through_admin(request):
        public_id = getattr(request.session, "public_id", None)
        record("auth.logout", actor=user, request=request, kind="auth",
               target=("accounts.session", public_id) if public_id else None, details=VIA_ADMIN)
