"""Two test runs on one machine with the same TEST_REDIS_URL take turns on its database.

Every checkout defaults to database 13, and each Redis test empties it before and after. A run beside
another (a CI clone next to a working copy) used to delete the counters of the other's test in the
middle of it: tests/fileshare/test_password_throttle_live.py[redis] then saw 17 of 30 parallel wrong
passwords checked instead of 5, and passed on rerun.
"""

import subprocess
import sys

from tests import redis_server
from tests.live import ROOT

# Another run's Redis test: its clean-up, under its own exclusive().
OTHER_RUN = """
from tests import redis_server
with redis_server.exclusive():
    redis_server._clear_counters(redis_server.client())
"""


def test_another_runs_clean_up_waits_until_this_runs_test_is_done():
    connection = redis_server.client()
    key = redis_server.OWN_KEYS.replace("*", "isolation-probe")
    with redis_server.exclusive():
        connection.set(key, 1)
        other = subprocess.Popen([sys.executable, "-c", OTHER_RUN], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        # Its first line comes once it has found the database taken: it cannot clean before this block ends.
        assert "waiting for another test run's Redis test" in other.stderr.readline()
        assert connection.get(key) == b"1"
    assert other.wait(timeout=60) == 0, other.stderr.read()
    assert connection.get(key) is None  # it cleaned once this run's test was done
    connection.close()
