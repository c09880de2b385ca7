"""The shipped nginx configuration buffers request bodies: slow clients cannot starve gunicorn.

gunicorn runs 4 threads a worker. Directly exposed, connections that trickle
a declared 100 KB body one byte every 2 s to an endpoint that reads it (sign-in, past CSRF with the
token any visitor gets) hold all 8 threads and /api/health times out for as long as they last
(issue 14, item 12): the test shows that first. Through deploy/nginx (proxy_request_buffering),
nginx holds those connections itself and only hands gunicorn complete requests, so health keeps
answering; when the bodies finally complete they reach the application and get its answer.
"""

import pytest
import requests

from tests.live import gunicorn
from tests.ops.nginx import nginx
from tests.ops.slow_clients import health_while_trickling

# Twice WEB_CONCURRENCY x GUNICORN_THREADS below: the workers accept connections unevenly, and each
# of them must have all its threads taken.
SLOW_CLIENTS = 16


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_slow_bodies_through_nginx_leave_health_responsive(tmp_path):
    # The attack, straight at gunicorn: every thread waits for a body, health gets no answer.
    # REQUEST_BODY_TIMEOUT off: the application's own deadline on body reads (agepar/body_deadline.py,
    # tests/ops/test_slow_body_deadline.py) would cut these clients off after 30 s; this half shows
    # what nginx saves gunicorn from when nothing else bounds the reads.
    # One worker here: with two, a loaded machine may let one of them accept too few of the
    # clients to have all its threads taken, and health then answers through it.
    with gunicorn(tmp_path, workers=1, GUNICORN_THREADS="4", REQUEST_BODY_TIMEOUT="0") as app:
        direct, _ = health_while_trickling(app, True, SLOW_CLIENTS)
    assert "timeout" in direct, direct
    with gunicorn(tmp_path, workers=2, GUNICORN_THREADS="4", USE_X_FORWARDED_PROTO="1",
                  TRUSTED_PROXY_COUNT="1") as app, nginx(tmp_path, app.removeprefix("http://")) as proxy:
        proxied, clients = health_while_trickling(proxy.https, str(proxy.ca_file), SLOW_CLIENTS)
    assert proxied == [200, 200, 200]
    # Complete at last, each body reached the application, which parsed it (blank JSON: 400).
    assert [client.error for client in clients] == [None] * SLOW_CLIENTS
    assert [client.status for client in clients] == [400] * SLOW_CLIENTS
    assert all(b"X-Request-ID" in client.response for client in clients)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_nginx_redirects_plain_http_and_forwards_the_scheme(tmp_path):
    with gunicorn(tmp_path, USE_X_FORWARDED_PROTO="1", TRUSTED_PROXY_COUNT="1", SECURE_SSL_REDIRECT="1") as app, \
            nginx(tmp_path, app.removeprefix("http://")) as proxy:
        plain = requests.get(f"{proxy.http}/api/me", timeout=10, allow_redirects=False, headers={"Host": "localhost"})
        assert plain.status_code == 301 and plain.headers["Location"] == "https://localhost/api/me"
        secure = requests.get(f"{proxy.https}/api/me", verify=proxy.ca_file, timeout=10)
        # Served (not redirected by SECURE_SSL_REDIRECT): the app trusts nginx's X-Forwarded-Proto.
        assert secure.status_code == 401
        assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
