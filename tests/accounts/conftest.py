"""Helpers for the accounts tests: signing in through the real API, and moving the clock."""

import contextlib
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from tests.conftest import make_client
from tests.factories import DEFAULT_PASSWORD

_real_now = timezone.now


@contextlib.contextmanager
def moved_clock(delta: timedelta):
    """The clock the session engine and the lockout's database counters read, moved by `delta`."""
    def fake_now():
        return _real_now() + delta

    with mock.patch("django.utils.timezone.now", fake_now):
        yield


def refresh_csrf(client):
    """Login rotates the CSRF token (as Django does); a front end re-reads the cookie."""
    client.credentials(HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def api_login(client, identifier, password=DEFAULT_PASSWORD, remember_me=False, **extra):
    response = client.post("/api/auth/login", {"identifier": identifier, "password": password,
                                               "remember_me": remember_me}, format="json", **extra)
    if response.status_code == 200:
        refresh_csrf(client)
    return response


def session_cookie(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def signed_in():
    """signed_in(user, **login kwargs) → an API client signed in through POST /api/auth/login."""
    def factory(user, **kwargs):
        client = make_client()
        response = api_login(client, user.email, **kwargs)
        assert response.status_code == 200, response.content
        return client
    return factory

