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
