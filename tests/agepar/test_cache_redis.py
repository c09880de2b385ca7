"""CACHE_URL=redis://... works as README recommends for production: the settings build Django's Redis
cache and a real Redis server holds what the application stores (counters included)."""

import subprocess
import sys

import pytest

from tests import redis_server
from tests.live import PRODUCTION_ENV, ROOT

SNIPPET = """
from django.core.cache import cache
from django.conf import settings
print(settings.CACHES["default"]["BACKEND"])
cache.set("agepar-redis-probe", "stored", 60)
cache.add("agepar-redis-counter", 0, 60)
print(cache.get("agepar-redis-probe"), cache.incr("agepar-redis-counter"), cache.incr("agepar-redis-counter"))
"""


@pytest.fixture
def redis_db(redis_url):
    connection = redis_server.client()
    connection.flushdb()
    yield connection
    connection.flushdb()


def test_the_production_settings_use_a_real_redis(tmp_path, redis_db):
    env = {"PATH": "/usr/bin:/bin", **PRODUCTION_ENV, "VAR_DIR": str(tmp_path),
           "CACHE_URL": redis_server.TEST_REDIS_URL}
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", SNIPPET], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "stored", "1", "2"]
    # The values live in the server, in the database number the URL names.
    keys = sorted(key.decode() for key in redis_db.keys("*"))
    assert keys == [":1:agepar-redis-counter", ":1:agepar-redis-probe"]
