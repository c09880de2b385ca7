"""A slow body holds a gunicorn thread only until its deadline (agepar/body_deadline.py; issue 14 item 12).

Straight at gunicorn (1 worker x 2 threads), four clients declare a 100 KB sign-in body and send it one
byte at a time. Without a bound each would hold its thread for as long as it cares to trickle and health
would get no thread. With REQUEST_BODY_TIMEOUT each is answered 408 while still sending (the rest of its
body never sent), the two waiting behind them get a thread and the same answer, and health, queued behind
them, is answered. (The production answer is nginx in front: tests/ops/test_nginx_slow_clients.py.)
"""

import select
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.live import gunicorn
from tests.ops.slow_clients import csrf_headers

DECLARED = 100_000
GIVE_UP = 120  # seconds a client trickles unanswered before the test calls it held forever


class SlowBody(threading.Thread):
    def __init__(self, base: str, headers: dict[str, str]):
        super().__init__(daemon=True)
        self.url, self.headers = urlsplit(base), "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.sent, self.response = 0, b""

    def run(self):
        with socket.create_connection((self.url.hostname, self.url.port), timeout=30) as sock:
            sock.sendall((f"POST /api/auth/login HTTP/1.1\r\nHost: {self.url.netloc}\r\n{self.headers}"
                          f"Content-Type: application/json\r\nContent-Length: {DECLARED}\r\n\r\n").encode())
            deadline = time.monotonic() + GIVE_UP
            while time.monotonic() < deadline and self.sent < DECLARED:
                if select.select([sock], [], [], 0.5)[0]:  # the server answers (or closes)
                    while chunk := sock.recv(65536):
                        self.response += chunk
                    return
                try:
                    sock.sendall(b" ")
                except OSError:
                    return
                self.sent += 1

    @property
    def status(self) -> int | None:
        head = self.response.split(b"\r\n", 1)[0].split()
        return int(head[1]) if len(head) > 1 else None


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_slow_body_is_cut_off_at_its_deadline(tmp_path):
    with gunicorn(tmp_path, GUNICORN_THREADS="2", REQUEST_BODY_TIMEOUT="3s", REQUEST_BODY_MIN_RATE="1M") as base:
        clients = [SlowBody(base, csrf_headers(base)) for _ in range(4)]
        for client in clients:
            client.start()
        health = requests.get(f"{base}/api/health", timeout=GIVE_UP / 2)
        for client in clients:
            client.join(GIVE_UP + 30)
    assert health.status_code == 200
    assert [client.status for client in clients] == [408] * 4, [client.response[:300] for client in clients]
    assert all(b'"code":"body_timeout"' in client.response for client in clients)
    assert all(client.sent < DECLARED for client in clients)
