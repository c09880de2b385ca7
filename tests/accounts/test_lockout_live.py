"""Against a real gunicorn (2 workers x 4 threads): 30 parallel guesses at one account get exactly 5 password checks.

Run with the counters in the database (the default cache) and in Redis (CACHE_URL=redis://...).
"""

import collections
import threading

import pytest
import requests

from audits.models import AuditEvent
from bench.live_upload import server_env, session_for
from tests.factories import DEFAULT_PASSWORD
from tests.live import gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
PARALLEL = 30


def in_parallel(send) -> collections.Counter:
    """`send()` from PARALLEL threads released at once; the count of each status code."""
    barrier = threading.Barrier(PARALLEL)
    statuses, errors = [], []

    def worker():
        try:
            barrier.wait()
            statuses.append(send())
        except Exception as exc:  # re-raised below: an assertion inside a thread is lost
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return collections.Counter(statuses)


@pytest.fixture(params=["database", "redis"])
def store_env(request):
    if request.param == "redis":
        return server_env(CACHE_URL=request.getfixturevalue("redis_url"))
    return server_env()


def _csrf(base):
    http = requests.Session()
    token = http.get(f"{base}/api/auth/csrf", timeout=10).json()["csrfToken"]
    return http.cookies.get_dict(), token


def test_thirty_parallel_sign_in_guesses_get_five_checks(tmp_path, owner, store_env):
    with gunicorn(tmp_path, workers=2, **store_env) as base:
        cookies, token = _csrf(base)

        def guess():
            return requests.post(f"{base}/api/auth/login", json={"identifier": owner.cpf, "password": "chute-errado"},
                                 cookies=cookies, headers={"X-CSRFToken": token}, timeout=60).status_code

        assert in_parallel(guess) == {400: 5, 429: 25}
    assert AuditEvent.objects.filter(action="auth.login", status="failure").count() == 5
    assert AuditEvent.objects.filter(action="auth.locked_out").count() == 1


def test_thirty_parallel_current_password_guesses_get_five_checks(tmp_path, owner, store_env):
    with gunicorn(tmp_path, workers=2, **store_env) as base:
        http = session_for(base, owner)

        def guess():
            return requests.post(f"{base}/api/auth/change-password",
                                 json={"current_password": "chute-errado", "new_password": "Outra-Senha-Forte-2026"},
                                 cookies=http.cookies.get_dict(), headers=dict(http.headers), timeout=60).status_code

        assert in_parallel(guess) == {400: 5, 429: 25}
    owner.refresh_from_db()
    assert owner.check_password(DEFAULT_PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password_changed", status="failure").count() == 5
