"""The benchmarks' HTTP client (bench/common.py Http) survives gunicorn closing an idle keep-alive
connection: `make bench` once crashed with RemoteDisconnected on the download that followed a 1 GiB
upload, its connection having sat idle past gunicorn's keep-alive."""

import select
import socket

import pytest

from bench.common import Http
from tests.live import gunicorn

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _closed_by_server(client: Http) -> None:
    """Wait (not a fixed sleep) until gunicorn has closed the idle connection: its FIN is readable."""
    sock = client.conn.sock
    assert select.select([sock], [], [], 60)[0], "gunicorn kept the idle connection open"
    assert sock.recv(1, socket.MSG_PEEK) == b""


@pytest.fixture
def base(tmp_path):
    with gunicorn(tmp_path, GUNICORN_CMD_ARGS="--keep-alive 1") as url:
        yield url


def test_a_request_after_the_keepalive_ran_out_succeeds(base):
    client = Http(base)
    assert client.get("/api/health")[0] == 200
    _closed_by_server(client)
    assert client.get("/api/health")[0] == 200
    _closed_by_server(client)
    status, body = client.request("POST", "/api/auth/login", b"{}", {"Content-Type": "application/json"})
    assert status == 403 and b"csrf" in body.lower()


def test_an_idempotent_request_racing_the_close_is_sent_again_once(base, monkeypatch):
    client = Http(base)
    assert client.get("/api/health")[0] == 200
    _closed_by_server(client)
    monkeypatch.setattr(client, "_closed_by_server", lambda: False)  # the close lands after the check
    assert client.get("/api/health")[0] == 200
    _closed_by_server(client)
    with pytest.raises(Http.DROPPED):  # a create is never sent twice
        client.request("POST", "/api/auth/login", b"{}", {"Content-Type": "application/json"})
