"""HTTP framing and scheme as a real gunicorn with deploy/gunicorn.conf.py serves them (issue 14 items 8-10).

Raw sockets, so that what is on the wire is what is asserted: the Connection header an early answer
carries, a chunked body, forwarded scheme headers from the loopback (inside forwarded_allow_ips).
"""

import contextlib
import socket
import threading
from urllib.parse import urlsplit

import pytest

from bench.live_upload import MultipartStream, read_response, server_env, session_for
from fileshare.models import FileShareItem
from tests.live import gunicorn

pytestmark = pytest.mark.django_db(transaction=True)
KB = 1000


def _connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    return socket.create_connection((parts.hostname, parts.port), timeout=30)


def _header(response: bytes, name: str) -> str | None:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return None


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Sends the body as a client does, while the answer may already be on its way (and the server close)."""
    with contextlib.suppress(OSError):
        sock.sendall(data)


def _until_closed(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def _get(sock: socket.socket, host: str, path: str, headers: str = "") -> tuple[int, bytes]:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode())
    return read_response(sock)


def test_an_early_413_tells_a_keep_alive_client_the_truth(tmp_path, owner):
    """20 uploads of 300 KB-3 MB over the limit, each followed by a small request, by a client that reuses
    its connection unless the answer says `Connection: close`: none of the follow-ups is lost. (gunicorn
    drains 64 KiB of an unread body, then closes; it used to say keep-alive first.)"""
    sizes = [300 * KB + i * (2700 * KB // 19) for i in range(20)]
    with gunicorn(tmp_path, **server_env(FILESHARE_MAX_UPLOAD_SIZE="100K", DATA_UPLOAD_MAX_MEMORY_SIZE="100K")) as base:
        http = session_for(base, owner)
        host = urlsplit(base).netloc
        cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        auth = f"Cookie: {cookies}\r\nX-CSRFToken: {http.headers['X-CSRFToken']}\r\n"
        sock = _connect(base)
        statuses, connections, lost = [], [], []
        try:
            for size in sizes:
                body = MultipartStream(size)
                payload = body.head + b"%PDF-1.4\n" + b"\0" * (size - 9) + body.tail
                sock.sendall((f"POST /api/fileshare/items HTTP/1.1\r\nHost: {host}\r\n{auth}"
                              f"Content-Type: multipart/form-data; boundary={body.boundary}\r\n"
                              f"Content-Length: {len(payload)}\r\n\r\n").encode())
                sender = threading.Thread(target=_send_quietly, args=(sock, payload))
                sender.start()
                status, response = read_response(sock)
                sender.join(60)
                statuses.append(status)
                connections.append(_header(response, "Connection"))
                if _header(response, "Connection") == "close":
                    sock.close()
                    sock = _connect(base)
                try:
                    follow_up, _ = _get(sock, host, "/api/health")
                except OSError:
                    follow_up = 0
                if follow_up != 200:
                    lost.append(size)
                    sock.close()
                    sock = _connect(base)
        finally:
            sock.close()
    assert lost == []
    assert statuses == [413] * 20
    assert connections == ["close"] * 20
    assert FileShareItem.objects.count() == 0


def test_a_small_body_keeps_the_connection(tmp_path, owner):
    """Only bodies gunicorn could not drain close the connection: a small refused one keeps it."""
    with gunicorn(tmp_path, **server_env()) as base:
        host = urlsplit(base).netloc
        with _connect(base) as sock:
            sock.sendall((f"POST /api/auth/login HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                          "Content-Length: 2\r\n\r\n{}").encode())
            status, response = read_response(sock)
            assert status == 403 and _header(response, "Connection") == "keep-alive"  # no CSRF token
            assert _get(sock, host, "/api/health")[0] == 200


def test_a_chunked_upload_is_refused_with_411(tmp_path, owner):
    """Transfer-Encoding: chunked without Content-Length was read as an empty form ("Nenhum arquivo foi
    submetido"); it is a 411, nothing stored, and the connection closed (its body left unread)."""
    with gunicorn(tmp_path, **server_env()) as base:
        http = session_for(base, owner)
        host = urlsplit(base).netloc
        cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
        body = MultipartStream(10 * KB)
        payload = body.head + b"%PDF-1.4\n" + b"\0" * (10 * KB - 9) + body.tail
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 4096]), payload[i:i + 4096])
                           for i in range(0, len(payload), 4096)) + b"0\r\n\r\n"
        for path in ("/api/fileshare/items", "/api/submissions"):
            with _connect(base) as sock:
                sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookies}\r\n"
                              f"X-CSRFToken: {http.headers['X-CSRFToken']}\r\nTransfer-Encoding: chunked\r\n"
                              f"Content-Type: multipart/form-data; boundary={body.boundary}\r\n\r\n").encode()
                             + chunked)
                response = _until_closed(sock)
            assert response.startswith(b"HTTP/1.1 411 "), response
            assert b'"code": "length_required"' in response
            assert _header(response, "Connection") == "close"
    assert FileShareItem.objects.count() == 0


SCHEME_HEADERS = ["X-Forwarded-Proto: https", "X-Forwarded-Ssl: on", "X-Forwarded-Protocol: ssl"]


@pytest.mark.parametrize("header", SCHEME_HEADERS)
def test_forwarded_scheme_headers_are_not_trusted_by_default(tmp_path, header):
    """USE_X_FORWARDED_PROTO=0: plain HTTP claiming HTTPS from the loopback (in forwarded_allow_ips) is
    redirected, not served (gunicorn's default secure_scheme_headers trusted all three)."""
    with gunicorn(tmp_path, SECURE_SSL_REDIRECT="1", USE_X_FORWARDED_PROTO="0") as base:
        host = urlsplit(base).netloc
        with _connect(base) as sock:
            status, response = _get(sock, host, "/api/me", f"{header}\r\n")
    assert status == 301, response
    assert _header(response, "Location") == f"https://{host}/api/me"


def test_x_forwarded_proto_is_trusted_from_the_proxy_when_configured(tmp_path):
    """USE_X_FORWARDED_PROTO=1: the proxy's X-Forwarded-Proto: https is served; the other two still are not."""
    with gunicorn(tmp_path, SECURE_SSL_REDIRECT="1", USE_X_FORWARDED_PROTO="1") as base:
        host = urlsplit(base).netloc
        answers = {}
        for header in SCHEME_HEADERS:
            with _connect(base) as sock:
                answers[header] = _get(sock, host, "/api/me", f"{header}\r\n")[0]
    assert answers == {"X-Forwarded-Proto: https": 401, "X-Forwarded-Ssl: on": 301, "X-Forwarded-Protocol: ssl": 301}
