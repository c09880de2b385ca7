"""Raw HTTP against a real gunicorn: streamed multipart uploads and the worker's memory.

Shared by the live-server tests and the transfer suite of bench/suites.py. Bodies are sent over a plain
socket so a test controls exactly how many bytes the server gets (and can stop or hang up).
"""

import hashlib
import os
import socket
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests
from django.test import Client

CHUNK = 1024 * 1024


def session_for(base: str, user) -> requests.Session:
    """A requests session signed in as `user` (a session row made by Django's test client) with CSRF set.

    The server must share this process's SECRET_KEY (see `server_env`): sessions carry a keyed hash.
    """
    client = Client()
    client.force_login(user)
    key = next(morsel.value for morsel in client.cookies.values() if morsel.key.endswith("sessionid"))
    http = requests.Session()
    http.cookies.set("sessionid", key)
    token = http.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
    http.headers["X-CSRFToken"] = token
    return http


def server_env(**overrides: str) -> dict:
    from django.conf import settings

    return {"SECRET_KEY": settings.SECRET_KEY, **overrides}


class MultipartStream:
    """A multipart body with one PDF-looking file of `size` bytes, generated on the fly."""

    def __init__(self, size: int, name: str = "grande.pdf"):
        self.boundary = uuid.uuid4().hex
        self.head = (f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"ttl\"\r\n\r\n1d\r\n"
                     f"--{self.boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                     "Content-Type: application/pdf\r\n\r\n").encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size

    @property
    def length(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    def file_chunks(self):
        """The file's bytes, CHUNK at a time (the same ones on every call)."""
        block = b"A" * CHUNK
        first = b"%PDF-1.7\n" + block[9:]
        sent = 0
        while sent < self.size:
            piece = first if sent == 0 else block
            if self.size - sent < CHUNK:
                piece = piece[: self.size - sent]
            sent += len(piece)
            yield piece

    def sha256(self) -> str:
        """Hashed on demand, not while sending: the benchmark's client must not compete with the server for CPU."""
        digest = hashlib.sha256()
        for piece in self.file_chunks():
            digest.update(piece)
        return digest.hexdigest()


def open_upload(base: str, http: requests.Session, body: MultipartStream, *, content_length: int | None = None):
    """Connect and send the request head plus the multipart preamble; returns the socket."""
    parts = urlsplit(base)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    head = (f"POST /api/fileshare/items HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={body.boundary}\r\n"
            f"Content-Length: {content_length or body.length}\r\n"
            f"Cookie: {cookies}\r\nX-CSRFToken: {http.headers['X-CSRFToken']}\r\nConnection: close\r\n\r\n")
    sock.sendall(head.encode() + body.head)
    return sock


def read_response(sock, timeout: float = 30) -> tuple[int, bytes]:
    """The status and the raw response (head and body), read without sending anything more."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, head + b"\r\n\r\n" + body


def upload_all(base: str, http: requests.Session, body: MultipartStream) -> tuple[int, bytes]:
    sock = open_upload(base, http, body)
    try:
        for piece in body.file_chunks():
            sock.sendall(piece)
        sock.sendall(body.tail)
        return read_response(sock, timeout=300)
    finally:
        sock.close()


def gunicorn_worker_pids(base: str) -> list[int]:
    """PIDs of the gunicorn workers listening on `base`'s port (children of its master)."""
    marker = f"GUNICORN_BIND=127.0.0.1:{urlsplit(base).port}".encode()
    matching = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                matching[int(entry.name)] = ppid
        except (OSError, ValueError):
            continue
    return sorted(pid for pid, ppid in matching.items() if ppid in matching)


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> None:
    """Restart VmHWM (peak RSS) from the current RSS (Linux clear_refs, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def wait_until(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def spool_files(path) -> list[str]:
    return sorted(os.listdir(path)) if os.path.exists(path) else []
