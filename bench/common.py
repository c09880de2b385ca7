"""Shared pieces of the benchmarks: environment, servers, load generators, results.

Every figure is measured next to its baseline in the same run, on the same machine, with the
same gunicorn worker count: the app (deploy/gunicorn.conf.py, production settings) against
bench/floor_app.py (a bare WSGI app: psycopg pool, one keyset query, orjson).
"""

import contextlib
import http.client
import os
import re
import secrets
import select
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from bench.harness import PRODUCTION_ENV, serve

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/agepar_bench"
WORKERS = os.environ.get("BENCH_WORKERS", "2")  # gunicorn workers, app and floor alike
THREADS = os.environ.get("BENCH_THREADS", "4")


def bench_env(database_url: str, work: Path) -> dict:
    """Production settings (DEBUG off, TLS-only flags relaxed for loopback HTTP) on the bench database."""
    return {**os.environ, **PRODUCTION_ENV, "SECRET_KEY": secrets.token_urlsafe(50),  # this run's own
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
            "DATABASE_URL": database_url, "VAR_DIR": str(work / "var"), "UPLOAD_ROOT": str(work / "uploads"),
            "WEB_CONCURRENCY": WORKERS, "GUNICORN_THREADS": THREADS, "DB_POOL_MAX_SIZE": "10",
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO")}


@contextlib.contextmanager
def server(env: dict, work: Path, app: str | None = None, **overrides: str):
    """gunicorn with deploy/gunicorn.conf.py (the app, or `app` such as bench.floor_app:application)."""
    # Ready once /api/health answers at all: the seeded dataset has queued submissions and no
    # worker runs here, so the worker check makes it a 503 (agepar/health.py).
    with serve({**env, **overrides}, work, app=app, wait_for_health=False) as base:
        yield base


class Http:
    """One keep-alive connection (http.client: far less client CPU than requests) that outlives the server
    closing it.

    gunicorn drops a connection idle past its keep-alive (5 s; a 1 GiB upload on another connection
    takes longer). A connection the server has already closed is replaced before the request is sent;
    if the close races the request, an idempotent one is sent again once on a fresh connection.
    """

    IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
    DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)

    def __init__(self, base: str, headers: dict | None = None):
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        self.headers = headers or {}

    def _closed_by_server(self) -> bool:
        """True when the idle socket is readable: the server's FIN (or a reset) has arrived."""
        sock = self.conn.sock
        return sock is not None and bool(select.select([sock], [], [], 0)[0])

    def open(self, method: str, path: str, body: bytes | None = None,
             headers: dict | None = None) -> http.client.HTTPResponse:
        """Send a request and return the response with its body unread (for streaming it)."""
        if self._closed_by_server():
            self.conn.close()
        reused = self.conn.sock is not None
        try:
            self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            return self.conn.getresponse()
        except self.DROPPED:
            self.conn.close()
            if not (reused and method in self.IDEMPOTENT):
                raise
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        return self.conn.getresponse()

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        response = self.open(method, path, body, headers)
        return response.status, response.read()

    def get(self, path: str):
        return self.request("GET", path)


def latencies(base: str, path: str, *, headers: dict | None = None, count: int = 200, warmup: int = 20,
              expect: int = 200, max_seconds: float = 5) -> list[float]:
    """Milliseconds per request, one client, sequential, keep-alive (server time + ~0.1 ms of loopback).

    A slow page stops after `max_seconds` (with at least 20 samples), so one bad query cannot eat the run.
    """
    client = Http(base, headers)
    samples = []
    stop = time.monotonic() + max_seconds
    for i in range(warmup + count):
        if len(samples) >= 20 and time.monotonic() > stop:
            break
        started = time.perf_counter()
        status, body = client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if status != expect:
            raise RuntimeError(f"GET {path} -> {status}: {body[:300]!r}")
        if i >= warmup:
            samples.append(elapsed)
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def wrk(base: str, path: str, *, clients: int, seconds: int, headers: dict | None = None,
        method: str = "GET", body: bytes | None = None) -> dict:
    """Requests/s and latency percentiles at `clients` concurrent keep-alive connections (wrk, or threads)."""
    if shutil.which("wrk"):
        return _wrk(base, path, clients, seconds, headers or {}, method, body)
    return _threads(base, path, clients, seconds, headers or {}, method, body)


def _wrk(base, path, clients, seconds, headers, method, body) -> dict:
    script = None
    command = ["wrk", f"-t{min(clients, 2)}", f"-c{clients}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if method != "GET":
        script = Path(f"/tmp/agepar-bench-wrk-{os.getpid()}.lua")  # noqa: S108 (our own pid-named file)
        script.write_text(f"wrk.method = {method!r}\nwrk.body = [==[{(body or b'').decode()}]==]\n"
                          "done = function(summary, latency, requests)\n"
                          "  io.write(string.format('non2xx %d\\n', summary.errors.status))\nend\n")
        command += ["-s", str(script)]
    try:
        out = subprocess.run([*command, base + path], capture_output=True, text=True, check=True,
                             timeout=seconds + 60).stdout
    finally:
        if script:
            script.unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    failed = int(errors.group(1)) if errors else 0

    def ms(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {"rps": rps, "p50_ms": ms("50"), "p99_ms": ms("99"), "errors": failed}


def _threads(base, path, clients, seconds, headers, method, body) -> dict:
    samples: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker():
        client = Http(base, headers)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            status, _ = client.request(method, path, body=body)
            mine.append((time.perf_counter() - started) * 1000)
            if status >= 400:
                with lock:
                    errors[0] += 1
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": len(samples) / seconds, "p50_ms": pct(samples, 0.5), "p99_ms": pct(samples, 0.99),
            "errors": errors[0]}


@dataclass
class Result:
    group: str
    name: str
    unit: str
    value: float
    baseline: float | None = None
    baseline_name: str = ""
    budget: str = ""
    ok: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None

    def line(self) -> str:
        base = f" | {self.baseline_name} {self.baseline:.4g} {self.unit} (×{self.ratio:.2f})" if self.baseline else ""
        verdict = "" if self.ok is None else (" OK" if self.ok else " OVER BUDGET")
        budget = f" | budget {self.budget}{verdict}" if self.budget else ""
        return f"[{self.group}] {self.name}: {self.value:.4g} {self.unit}{base}{budget}"

    def as_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio}


def median_of(runs: int, measure) -> tuple[float, list[float]]:
    values = [measure() for _ in range(runs)]
    return statistics.median(values), values
