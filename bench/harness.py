"""gunicorn and moto's S3 server as child processes, for the benchmarks and the tests alike (tests/live.py
builds on it).

It lives here, not under tests/, because bench/ imports nothing from tests/: the image ships bench/
without the test suite.
"""

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
# Production settings with the TLS-only flags off, for plain HTTP on the loopback.
PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "agepar.settings",
    "DEBUG": "0",
    "SECRET_KEY": "live-test-secret-key-" + "0123456789abcdef" * 3,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "SESSION_COOKIE_SECURE": "0",
    "CSRF_COOKIE_SECURE": "0",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict, log_dir: Path, *, app: str | None = None, wait_for_health: bool = True,
          ready_timeout: float = 60, port: int | None = None):
    """gunicorn with deploy/gunicorn.conf.py (serving `app` if given) on `port` or a free loopback port.

    Yields its base URL once /api/health answers 200 (or answers at all, without
    `wait_for_health`); stopped on exit. Its output goes to log_dir/gunicorn-<port>.log.
    """
    port = port or free_port()
    log_path = log_dir / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    if app:
        command.append(app)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
                                   stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_ready(process, base, log_path, wait_for_health, ready_timeout)
            yield base
        finally:
            stop(process)


@contextlib.contextmanager
def moto_server(log_dir: Path):
    """moto's S3 in server mode (a real HTTP S3 API) on a free loopback port; yields its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(log_dir / f"moto-{port}.log", "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    requests.get(endpoint, timeout=2)
                    break
                except (requests.ConnectionError, requests.Timeout):  # a loaded machine: not listening, or slow
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("moto server did not start") from None
                    time.sleep(0.2)
            yield endpoint
        finally:
            stop(process, timeout=10)


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_ready(process, base: str, log_path: Path, wait_for_health: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text()[-3000:]}")
        try:
            # The first answer waits for the worker to boot (seconds on a loaded machine) and, when a
            # probe hangs, for HEALTH_TIMEOUT: give it room, the overall deadline still bounds the wait.
            if requests.get(f"{base}/api/health", timeout=30).status_code == 200 or not wait_for_health:
                return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting on a busy machine
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"gunicorn not ready: {log_path.read_text()[-3000:]}")
        time.sleep(0.2)
