"""Clients that declare a body and trickle it (the slow-body attack of issue 14), over TLS or not."""

import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

import requests


class Trickler(threading.Thread):
    """POSTs `size` declared bytes to `url`, one byte every `every` seconds until released, then the rest."""

    def __init__(self, url: str, *, ca_file=None, size: int = 100_000, every: float = 2.0,
                 headers: dict[str, str] | None = None):
        super().__init__(daemon=True)
        self.url, self.ca_file, self.size, self.every = urlsplit(url), ca_file, size, every
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        self.release = threading.Event()
        self.connected = threading.Event()
        self.sent = 0
        self.response = b""
        self.error: Exception | None = None

    def _socket(self):
        raw = socket.create_connection((self.url.hostname, self.url.port), timeout=60)
        if self.url.scheme != "https":
            return raw
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context.wrap_socket(raw, server_hostname=self.url.hostname)

    def run(self):
        try:
            with self._socket() as sock:
                sock.sendall((f"POST {self.url.path} HTTP/1.1\r\nHost: {self.url.netloc}\r\n{self.headers}"
                              f"Content-Type: application/json\r\nContent-Length: {self.size}\r\n"
                              "Connection: close\r\n\r\n").encode())
                self.connected.set()
                while not self.release.wait(self.every):
                    sock.sendall(b" ")
                    self.sent += 1
                sock.sendall(b" " * (self.size - self.sent))
                while chunk := sock.recv(65536):
                    self.response += chunk
        except Exception as exc:  # reported to the test
            self.error = exc
            self.connected.set()

    @property
    def status(self) -> int | None:
        head = self.response.split(b"\r\n", 1)[0].split()
        return int(head[1]) if len(head) > 1 else None


def csrf_headers(base: str, **request_options) -> dict[str, str]:
    """What lets a POST past CSRF, so the application reads its body (any anonymous visitor gets it)."""
    token = requests.get(f"{base}/api/auth/csrf", timeout=30, **request_options).json()["csrfToken"]
    return {"Cookie": f"csrftoken={token}", "X-CSRFToken": token, "Origin": base}


def trickle(url: str, count: int, **kwargs) -> list[Trickler]:
    clients = [Trickler(url, **kwargs) for _ in range(count)]
    for client in clients:
        client.start()
    # Until every client has trickled a few bytes: whatever is in front has had the time to pass them on.
    deadline = time.monotonic() + 60
    while any(client.sent < 2 and client.error is None for client in clients) and time.monotonic() < deadline:
        time.sleep(0.2)
    return clients


def health_while_trickling(base: str, verify, count: int) -> tuple[list, list[Trickler]]:
    """/api/health three times while `count` clients trickle sign-in bodies to `base`; then the bodies
    complete. The probes' status codes (or "timeout"), and the clients."""
    headers = csrf_headers(base, verify=verify)
    clients = trickle(f"{base}/api/auth/login", count, ca_file=verify if verify is not True else None,
                      headers=headers)
    outcomes = []
    try:
        for _ in range(3):
            try:
                outcomes.append(requests.get(f"{base}/api/health", verify=verify, timeout=10).status_code)
            except requests.Timeout:
                outcomes.append("timeout")
        assert all(client.is_alive() and client.error is None for client in clients)  # still trickling
    finally:
        for client in clients:
            client.release.set()
        for client in clients:
            client.join(60)
    return outcomes, clients
