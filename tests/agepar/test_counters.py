"""agepar.counters: exact fixed-window counters, in the database and in Redis."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from agepar import counters
from agepar.models import Counter
from tests.accounts.conftest import moved_clock

pytestmark = pytest.mark.django_db


def test_hits_count_up_inside_one_window_that_later_hits_do_not_move(counter_store):
    first = counters.hit("t:a", 60)
    assert first.count == 1 and 59 <= first.retry_after <= 60
    with moved_clock(timedelta(seconds=20)):
        second = counters.hit("t:a", 60)
    assert second.count == 2
    # Redis keeps its own clock: its window end is read back from the key's TTL, to a few ms.
    assert abs((second.expires_at - first.expires_at).total_seconds()) < 1 or counter_store == "redis"
    assert counters.hit("t:b", 60).count == 1  # keys are independent


def test_later_hits_never_extend_the_window(counter_store):
    first = counters.hit("t:w", 30)
    for _ in range(5):
        later = counters.hit("t:w", 300)  # even a caller asking for a longer window
    assert later.count == 6
    assert later.expires_at <= first.expires_at + timedelta(seconds=1)


def test_a_window_that_is_over_starts_again(db):
    counters.hit("t:x", 60)
    counters.hit("t:x", 60)
    with moved_clock(timedelta(seconds=61)):
        again = counters.hit("t:x", 60)
        assert again.count == 1 and again.retry_after == 60


def test_forgive_gives_one_back_never_below_zero_and_keeps_the_window(counter_store):
    first = counters.hit("t:f", 60)
    counters.hit("t:f", 60)
    counters.forgive("t:f")
    counters.forgive("t:f")
    counters.forgive("t:f")
    again = counters.hit("t:f", 60)
    assert again.count == 1
    assert again.expires_at <= first.expires_at + timedelta(seconds=1)
    counters.forgive("t:nothing")  # a key without a window: nothing to give back, no error


def test_reset_opens_a_new_window(counter_store):
    counters.hit("t:r", 60)
    counters.reset("t:r")
    assert counters.hit("t:r", 60).count == 1


def test_purge_deletes_only_the_windows_that_are_over(db):
    counters.hit("t:old", 10)
    counters.hit("t:new", 100)
    with moved_clock(timedelta(seconds=11)):
        assert counters.purge_expired() == 1
    assert list(Counter.objects.values_list("key", flat=True)) == ["t:new"]


def _hit_concurrently(key: str, threads: int = 30) -> list[int]:
    barrier = threading.Barrier(threads)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(counters.hit(key, 60).count)
        except Exception as exc:  # reported below: an assertion here would be lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("store", ["database", "redis"])
def test_thirty_concurrent_hits_get_thirty_different_counts(request, store):
    if store == "redis":
        request.getfixturevalue("redis_cache")
    assert sorted(_hit_concurrently("t:race")) == list(range(1, 31))
