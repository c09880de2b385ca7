# Kept apart from agepar.api: DRF imports authentication classes while rest_framework.views
# is still loading, so this module must not import the views.
from rest_framework.authentication import SessionAuthentication as DRFSessionAuthentication


class SessionAuthentication(DRFSessionAuthentication):
    """Session cookie + CSRF. Declaring a challenge makes DRF answer 401 (not 403) to anonymous callers."""

    def authenticate_header(self, request):
        return 'Session realm="api"'
