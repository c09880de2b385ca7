"""The Redis server of this machine (CI starts it), on a database number of the tests' own.

TEST_REDIS_URL overrides it; the tests flush only that database number.
"""

import os

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


OWN_KEYS = "agepar:counter:*"  # agepar.counters' keys


def _clear_counters(connection) -> None:
    keys = list(connection.scan_iter(OWN_KEYS))
    if keys:
        connection.delete(*keys)


@pytest.fixture
def redis_url():
    """TEST_REDIS_URL, with the counter keys removed before and after the test."""
    connection = client()
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
