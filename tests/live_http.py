"""Fixtures for real HTTP clients (chromium, schemathesis) against pytest-django's live server."""

import pytest
from django.test.testcases import QuietWSGIRequestHandler


@pytest.fixture
def plain_http(settings):
    """Cookies a client keeps over http://127.0.0.1: not Secure, so no __Host- prefix either.    """
    settings.SESSION_COOKIE_SECURE = False
    settings.SESSION_COOKIE_NAME = "sessionid"
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def base_url(live_server, plain_http, monkeypatch):
    # The live server writes headers and body in two sends: with Nagle's algorithm on, each keep-alive
    # response then waits ~40 ms for the client's delayed ACK, which made the fuzzing run five times slower.
    monkeypatch.setattr(QuietWSGIRequestHandler, "disable_nagle_algorithm", True)
    return live_server.url
