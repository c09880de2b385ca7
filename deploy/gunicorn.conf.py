"""gunicorn settings for Portal AGEPAR (used by the Dockerfile, docs and the live-server tests).

Threads let one worker keep serving while another thread streams a large download; each
thread takes a database connection from the worker's pool, so keep
DB_POOL_MAX_SIZE >= GUNICORN_THREADS (docs/operations.md has the sizing rule).
"""

import ctypes
import multiprocessing
import os

from agepar import env as _env

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Bound request line/header sizes; bodies are bounded by Django's upload limits.
limit_request_line = 8190
limit_request_fields = 100
# The application writes one JSON access line per request (agepar.middleware); gunicorn's own
# access log would repeat it and could not redact share-link tokens.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's default trusts X-Forwarded-Proto, X-Forwarded-Ssl and X-Forwarded-Protocol from
# forwarded_allow_ips and then tells Django the request is HTTPS (wsgi.url_scheme): a plain-HTTP client
# next to the server would skip SECURE_SSL_REDIRECT. The one header the proxy sets, and only when
# USE_X_FORWARDED_PROTO says so (as agepar/settings.py does for Django's SECURE_PROXY_SSL_HEADER).
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"} if _env.boolean("USE_X_FORWARDED_PROTO", False) else {}
wsgi_app = "agepar.wsgi:application"
# gunicorn >= 25 opens a control socket for `gunicornc` at a path shared by every gunicorn of the same
# user ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): a second instance (blue/green, a
# test server, another site) takes it over, and whichever stops first deletes it, so `gunicornc` would
# resize or stop the wrong server. Off unless GUNICORN_CONTROL_SOCKET names this instance's own path;
# the service is run through systemd/compose signals (docs/operations.md).
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


# gunicorn reads (drains) at most 64 KiB of a body the application left unread, then closes the
# connection, yet a response sent before the body was read (an early 413, a 411, a 401) still said
# "Connection: keep-alive", so a client reusing the connection lost its next request. A request whose
# body is larger than that drain (or of unknown length: chunked) is answered with "Connection: close"
# (gunicorn ignores a Connection header set by the application; the request's must_close is what its
# response honours), so the client knows to reconnect. A request with a smaller body keeps the connection.
_DRAIN_LIMIT = 64 * 1024


def pre_request(worker, req) -> None:
    headers = dict(req.headers)  # upper-case names; gunicorn has refused repeated or conflicting framing
    length = headers.get("CONTENT-LENGTH", "")
    if "TRANSFER-ENCODING" in headers or (length.isdigit() and int(length) > _DRAIN_LIMIT):
        req.must_close = True


def _keep_freed_buffers() -> None:
    """Fixed glibc malloc thresholds, set in the master so that forked workers inherit them.

    A streamed upload or download churns ~1 MiB buffers; with glibc's default (dynamic)
    thresholds they are handed back to the kernel and faulted in again on every chunk: 0.4-1 M
    page faults and up to 2x the CPU per GiB uploaded (docs/BENCHMARKS.md, "Upload"). Kept, they
    are reused. Same as MALLOC_MMAP_THRESHOLD_=16777216 MALLOC_TRIM_THRESHOLD_=134217728 in the
    environment, which wins when set; a worker then keeps up to 128 MiB of freed heap.
    """
    if "MALLOC_TRIM_THRESHOLD_" in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (e.g. musl): its allocator has no such thresholds
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    libc.mallopt(m_mmap_threshold, 16 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 128 * 1024 * 1024)


_keep_freed_buffers()


# /metrics with several workers (agepar/metrics.py): each worker writes its samples under
# PROMETHEUS_MULTIPROC_DIR and any of them sums all on a scrape. One fresh folder per server start
# (files of an earlier run would be summed too), and a dead worker's live gauges are dropped.
def on_starting(server) -> None:
    import tempfile

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="agepar-metrics-")
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.remove(os.path.join(folder, name))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(server, worker) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
