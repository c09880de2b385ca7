"""Sign-in with a CPF (with or without punctuation) or an e-mail, case-insensitive, under the lockout."""

from django.contrib.auth.backends import ModelBackend

from accounts import lockout
from accounts.identifiers import find_user
from accounts.models import User


class IdentifierBackend(ModelBackend):
    """Every door that calls authenticate() (the API's sign-in, the admin's) counts against the lockout.

    A locked account or address raises lockout.Locked, a PermissionDenied: authenticate() stops
    there without a password check and reports a failed sign-in.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        user = find_user(username)
        attempt = lockout.begin(request, identifier=username, user=user)
        if user is None:
            # Hash anyway, so an unknown identifier costs what a wrong password costs.
            User().set_password(password)
            return None
        # Inactive users go through the same hash before being refused: same answer, same time.
        if user.check_password(password) and self.user_can_authenticate(user):
            attempt.passed()
            return user
        return None
