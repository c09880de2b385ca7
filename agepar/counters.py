"""Exact fixed-window counters for the limits that guard something (sign-in lockouts, share-link passwords).

A key's window opens at its first hit and lasts `window` seconds whatever happens inside it: later
hits neither move nor extend it, so a limit is "at most N in each window that starts with a hit".
Every hit is one atomic operation on the shared store, so N concurrent hits get exactly the values
1..N: a limit of 5 lets five through, never more, whichever process or host served them.
- With `CACHE_URL=redis://...`: a Lua script on the Redis server (INCR, PEXPIRE on the first hit, PTTL).
- Otherwise: one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` on the agepar_counter table
  (PostgreSQL, SQLite 3.35+). Django's database cache cannot be used for this: its incr() reads then
  writes (concurrent hits return the same value), and it rewrites the entry with the default timeout.
Hit outside a transaction: inside one, a rollback would give the hit back (and on PostgreSQL the row
stays locked, serialising every other hit of that key, until the transaction ends).
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agepar.models import Counter

REDIS_PREFIX = "agepar:counter:"
_TABLE = Counter._meta.db_table

_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
"""
_FORGIVE = """
local count = tonumber(redis.call('GET', KEYS[1]))
if count and count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Hit:
    count: int
    expires_at: datetime

    @property
    def retry_after(self) -> int:
        """Whole seconds until the window ends (at least 1): a Retry-After value."""
        return max(1, math.ceil((self.expires_at - timezone.now()).total_seconds()))


def _redis_location() -> str | None:
    config = settings.CACHES["default"]
    if not config["BACKEND"].endswith(".RedisCache"):
        return None
    location = config["LOCATION"]
    servers = location.split(",") if isinstance(location, str) else location
    return servers[0]  # the first server is the one Django's RedisCache writes to


@cache
def _redis(url: str):
    import redis

    client = redis.Redis.from_url(url)
    return client, client.register_script(_HIT), client.register_script(_FORGIVE)


def hit(key: str, window: int) -> Hit:
    """Count one for `key`; a new window of `window` seconds opens when none is open."""
    location = _redis_location()
    if location is not None:
        _, script, _ = _redis(location)
        count, ttl = script(keys=[REDIS_PREFIX + key], args=[window * 1000])
        return Hit(int(count), timezone.now() + timedelta(milliseconds=int(ttl)))
    now = timezone.now()
    ops, q = connection.ops, connection.ops.quote_name
    table, k, c, e = q(_TABLE), q("key"), q("count"), q("expires_at")
    with connection.cursor() as cursor:
        # One statement: the row is created, restarted (its window is over) or incremented, atomically.
        cursor.execute(
            f"INSERT INTO {table} ({k}, {c}, {e}) VALUES (%s, 1, %s) "  # noqa: S608 (no input in it)
            f"ON CONFLICT ({k}) DO UPDATE SET "
            f"{c} = CASE WHEN {table}.{e} <= %s THEN 1 ELSE {table}.{c} + 1 END, "
            f"{e} = CASE WHEN {table}.{e} <= %s THEN excluded.{e} ELSE {table}.{e} END "
            f"RETURNING {c}, {e}",
            [key, ops.adapt_datetimefield_value(now + timedelta(seconds=window)),
             ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(now)])
        count, expires_at = cursor.fetchone()
    return Hit(count, _aware(expires_at))


def forgive(key: str) -> None:
    """Give one hit back (a check that turned out fine should not use up the allowance); the window stays."""
    location = _redis_location()
    if location is not None:
        _redis(location)[2](keys=[REDIS_PREFIX + key])
        return
    Counter.objects.filter(key=key, count__gt=0, expires_at__gt=timezone.now()).update(count=F("count") - 1)


def reset(key: str) -> None:
    """Forget the key: its next hit opens a new window."""
    location = _redis_location()
    if location is not None:
        _redis(location)[0].delete(REDIS_PREFIX + key)
        return
    Counter.objects.filter(key=key).delete()


def purge_expired() -> int:
    """Delete the rows of windows that are over (Redis expires its keys itself). Returns how many."""
    if _redis_location() is not None:
        return 0
    deleted, _ = Counter.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _aware(value) -> datetime:
    # RETURNING hands back what the driver makes of the column: an aware datetime (psycopg), or
    # SQLite's text / naive UTC datetime.
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value
