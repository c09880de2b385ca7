"""Calls that must not hang the request that makes them (health checks, /metrics' database reads).

Each named call runs in a small shared thread pool and is waited for until a deadline, so an
answer comes promptly while the database is down or hangs, instead of after the connection pool's
30 s timeout. A call still stuck from an earlier request is not stacked up again: later requests
wait on the same one until it returns.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="probe")
_pending: dict[str, Future] = {}
_lock = threading.Lock()


def start(name: str, call: Callable[[], object]) -> Future:
    """The running call named `name`, or a new one of `call` if none is running."""
    with _lock:
        future = _pending.get(name)
        if future is None or future.done():
            future = _pending[name] = _executor.submit(call)
        return future


def wait(future: Future, deadline: float):
    """The call's result, waited for until `deadline` (time.monotonic()); raises TimeoutError or its error."""
    return future.result(timeout=max(deadline - time.monotonic(), 0))
