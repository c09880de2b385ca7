"""The Redis server of this machine (CI starts it), on a database number of the tests' own.

TEST_REDIS_URL overrides it; the tests flush only that database number. Test runs on one machine
that use the same number take turns, test by test (exclusive()).
"""

import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def client():
    """A redis-py client on the tests' database; skips (fails under CI) when Redis does not answer."""
    import redis

    connection = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.ConnectionError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"no Redis at {TEST_REDIS_URL}: {exc}")
    return connection


_held = False  # whether this process is inside exclusive()


@contextlib.contextmanager
def exclusive():
    """The tests' Redis database for this process alone until the block ends.

    Every checkout defaults to the same number (a CI clone beside a working copy, say), and the Redis
    tests empty it before and after: a run beside another used to delete the counters that the
    other's test was counting with (30 parallel wrong share-link passwords, 17 checked instead of 5).
    So runs on this machine wait for each other through a lock file named after TEST_REDIS_URL; the
    kernel releases it when its process ends. Not reentrant: the outermost block holds it.
    """
    global _held
    assert not _held, "exclusive() is already held by this process"
    digest = hashlib.sha256(TEST_REDIS_URL.encode()).hexdigest()[:16]  # the URL may carry a password
    path = Path(tempfile.gettempdir()) / f"agepar-tests-redis-{digest}.lock"
    with open(path, "a") as lock:  # closing it releases the lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another test run's Redis test ({path})", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        _held = True
        try:
            yield
        finally:
            _held = False


OWN_KEYS = "agepar:counter:*"  # agepar.counters' keys


def _clear_counters(connection) -> None:
    keys = list(connection.scan_iter(OWN_KEYS))
    if keys:
        connection.delete(*keys)


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL for this test alone (exclusive()), with the counter keys removed before and after it."""
    connection = client()
    with exclusive():
        _clear_counters(connection)
        yield TEST_REDIS_URL
        _clear_counters(connection)
    connection.close()


@pytest.fixture
def redis_cache(settings, redis_url):
    """This process's cache (and so agepar.counters) on Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    return redis_url


@pytest.fixture(params=["database", "redis"])
def counter_store(request):
    """Runs a test once with the counters in the database and once in Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    return request.param
