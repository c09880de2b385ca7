"""Against a real gunicorn (2 workers x 8 threads): 30 parallel wrong passwords on one share link get exactly 5 checks.

Run with the counters in the database (the default cache) and in Redis (CACHE_URL=redis://...).
The database cache's incr() read then wrote, so on PostgreSQL 8-11 of the 30 used to be checked.
"""

import hashlib
from datetime import timedelta

import pytest
import requests
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from fileshare.tokens import new_token
from tests.accounts.test_lockout_live import in_parallel, store_env  # noqa: F401  (fixture)
from tests.live import gunicorn

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_thirty_parallel_wrong_share_passwords_get_five_checks(tmp_path, owner, store_env):  # noqa: F811
    token, token_hash = new_token()
    content = b"%PDF-1.7\n"
    FileShareItem.objects.create(
        owner=owner, original_name="sigiloso.pdf", storage_name=f"2026/01/{'e' * 32}", size=len(content),
        content_type="application/pdf", sha256=hashlib.sha256(content).hexdigest(),
        expires_at=timezone.now() + timedelta(days=1), token_hash=token_hash,
        # The hasher the server really uses (the tests' MD5 is not in production's list).
        password=make_password("senha-do-arquivo", hasher="argon2"))
    # The per-address allowance well above 30, so only the per-link one decides.
    env = {**store_env, "FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN": "5", "FILESHARE_PASSWORD_ATTEMPTS_PER_IP": "100",
           "GUNICORN_THREADS": "8"}
    with gunicorn(tmp_path, workers=2, **env) as base:
        page = requests.get(f"{base}/s/{token}", timeout=30)
        assert page.status_code == 200
        cookies, csrf = page.cookies.get_dict(), page.cookies["csrftoken"]

        def guess():
            return requests.post(f"{base}/s/{token}/download", data={"password": "chute", "csrfmiddlewaretoken": csrf},
                                 cookies=cookies, headers={"Referer": f"{base}/s/{token}"}, timeout=60).status_code

        assert in_parallel(guess) == {403: 5, 429: 25}
        # The right password waits for the window too.
        right = requests.post(f"{base}/s/{token}/download", data={"password": "senha-do-arquivo",
                              "csrfmiddlewaretoken": csrf}, cookies=cookies, timeout=30)
        assert right.status_code == 429 and 0 < int(right.headers["Retry-After"]) <= 15 * 60
    denied = AuditEvent.objects.filter(action="fileshare.download_denied")
    assert denied.filter(details__reason="wrong_password").count() == 5
    assert denied.filter(details__reason="throttled").count() == 26
