"""Public pages /s/<token>: preview counts nothing, downloads count atomically, passwords are throttled."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from audits.models import AuditEvent
from fileshare.models import FileShareItem
from tests.accounts.conftest import moved_clock
from tests.conftest import make_client
from tests.fileshare.helpers import PDF, public_path, sha256, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def csrf_post(browser, page_path, data):
    """What the form does: load the page (which sets the CSRF cookie) and post with its token."""
    page = browser.get(page_path)
    token = page.cookies["csrftoken"].value
    return browser.post(page_path + "/download", {**data, "csrfmiddlewaretoken": token})


def test_upload_link_download_gives_identical_bytes(owner_client, browser):
    body = upload(owner_client, PDF, "relatório.pdf").json()
    page = browser.get(public_path(body["link"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "relatório.pdf" in html and "Baixar arquivo" in html and 'type="password"' not in html
    # same-origin (not no-referrer) so that the password form's POST carries a real Origin for CSRF.
    assert page["Referrer-Policy"] == "same-origin" and "no-store" in page["Cache-Control"]
    response = browser.get(public_path(body["link"]) + "/download")
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    assert data == PDF and sha256(data) == body["sha256"] == FileShareItem.objects.get(pk=body["id"]).sha256
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''relat%C3%B3rio.pdf"
    assert response["Content-Type"] == "application/pdf"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="fileshare.downloaded")
    assert event.details["via"] == "public" and event.actor_id is None


def test_the_page_counts_nothing_so_previews_do_not_use_up_a_link(owner_client, browser):
    body = upload(owner_client, max_downloads=1).json()
    for _ in range(3):
        assert browser.get(public_path(body["link"])).status_code == 200
    assert FileShareItem.objects.get(pk=body["id"]).downloads == 0
    assert browser.get(public_path(body["link"]) + "/download").status_code == 200
    gone = browser.get(public_path(body["link"]) + "/download")
    assert gone.status_code == 410 and "Este link não está mais disponível" in gone.content.decode()
    assert browser.get(public_path(body["link"])).status_code == 410
    assert FileShareItem.objects.get(pk=body["id"]).downloads == 1


def test_unknown_token_is_404(browser):
    assert browser.get("/s/" + "A" * 43).status_code == 404
    response = browser.get("/s/naoexiste/download")
    assert response.status_code == 404 and "Link não encontrado" in response.content.decode()


def test_expired_link_is_410(owner_client, browser):
    body = upload(owner_client).json()
    FileShareItem.objects.filter(pk=body["id"]).update(expires_at=timezone.now())
    assert browser.get(public_path(body["link"])).status_code == 410
    assert browser.get(public_path(body["link"]) + "/download").status_code == 410
    assert FileShareItem.objects.get(pk=body["id"]).downloads == 0


def test_protected_page_asks_for_the_password(owner_client, browser):
    body = upload(owner_client, password="senha-do-arquivo").json()
    html = browser.get(public_path(body["link"])).content.decode()
    assert 'type="password"' in html and "csrfmiddlewaretoken" in html
    # A plain GET of the download URL does not bypass the password: it goes back to the page.
    response = browser.get(public_path(body["link"]) + "/download")
    assert response.status_code == 302 and response["Location"] == public_path(body["link"])
    assert FileShareItem.objects.get(pk=body["id"]).downloads == 0


def test_right_password_downloads(owner_client, browser):
    body = upload(owner_client, password="senha-do-arquivo").json()
    response = csrf_post(browser, public_path(body["link"]), {"password": "senha-do-arquivo"})
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF


def test_wrong_password_is_403_and_audited(owner_client, browser):
    body = upload(owner_client, password="senha-do-arquivo").json()
    response = csrf_post(browser, public_path(body["link"]), {"password": "chute"})
    assert response.status_code == 403
    assert "Senha incorreta" in response.content.decode()
    event = AuditEvent.objects.get(action="fileshare.download_denied")
    assert event.status == "failure" and event.details == {"reason": "wrong_password"}
    assert event.target_id == str(body["id"])
    assert FileShareItem.objects.get(pk=body["id"]).downloads == 0


def test_post_without_csrf_token_is_refused(owner_client, browser):
    body = upload(owner_client, password="senha-do-arquivo").json()
    assert browser.post(public_path(body["link"]) + "/download", {"password": "senha-do-arquivo"}).status_code == 403


def test_repeated_wrong_passwords_are_throttled_per_token(owner_client, browser, settings):
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = 3
    body = upload(owner_client, password="senha-do-arquivo").json()
    for _ in range(3):
        assert csrf_post(browser, public_path(body["link"]), {"password": "chute"}).status_code == 403
    throttled = csrf_post(browser, public_path(body["link"]), {"password": "chute"})
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) == settings.FILESHARE_PASSWORD_WINDOW
    # Even the right password waits: otherwise guessing would simply go on.
    assert csrf_post(browser, public_path(body["link"]), {"password": "senha-do-arquivo"}).status_code == 429
    assert AuditEvent.objects.filter(action="fileshare.download_denied", details__reason="throttled").count() == 2
    # Another client on another address is throttled too: the limit belongs to the token.
    elsewhere = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    assert csrf_post(elsewhere, public_path(body["link"]), {"password": "chute"}).status_code == 429


def test_repeated_wrong_passwords_are_throttled_per_address(owner_client, browser, settings):
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = 100
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_IP = 2
    links = [public_path(upload(owner_client, password="senha-do-arquivo").json()["link"]) for _ in range(3)]
    assert csrf_post(browser, links[0], {"password": "x"}).status_code == 403
    assert csrf_post(browser, links[1], {"password": "x"}).status_code == 403
    assert csrf_post(browser, links[2], {"password": "senha-do-arquivo"}).status_code == 429


@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_cannot_outrun_the_limit(owner, settings, monkeypatch):
    # The attempt is counted before the (slow) password check: guesses sent together must not
    # all read the old count and all get checked.
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = 5
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_IP = 100
    guesses = 8  # fewer than the connection pool's 10, so no thread waits for a connection
    body = upload(make_client(owner), password="senha-do-arquivo").json()
    path = public_path(body["link"])
    checking = threading.Barrier(guesses, timeout=3)

    def slow_wrong_check(password, encoded):
        with contextlib.suppress(threading.BrokenBarrierError):
            checking.wait()  # every guess that gets this far waits for the others
        return False

    monkeypatch.setattr("fileshare.views.check_password", slow_wrong_check)
    pages = [Client(enforce_csrf_checks=True) for _ in range(guesses)]
    tokens = [page.get(path).cookies["csrftoken"].value for page in pages]

    def guess(i):
        try:
            response = pages[i].post(path + "/download", {"password": "chute", "csrfmiddlewaretoken": tokens[i]})
            return response.status_code
        finally:
            connection.close()  # the test client keeps it open; give it back to the pool

    with ThreadPoolExecutor(guesses) as pool:
        statuses = list(pool.map(guess, range(guesses)))
    assert statuses.count(403) == 5
    assert statuses.count(429) == guesses - 5


def test_the_password_window_opens_at_the_first_attempt_and_later_ones_never_extend_it(
        owner_client, browser, settings, counter_store):
    # The database cache's incr() used to rewrite the entry with the default timeout (300 s), so after
    # the first attempt the counter lived 300 s after the last one whatever FILESHARE_PASSWORD_WINDOW said.
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = 2
    settings.FILESHARE_PASSWORD_WINDOW = 600
    path = public_path(upload(owner_client, password="senha-do-arquivo").json()["link"])
    assert csrf_post(browser, path, {"password": "chute"}).status_code == 403
    if counter_store == "redis":
        # Redis keeps its own clock: the key (the counter) must expire at the window's end, not later.
        from tests.redis_server import client

        (key,) = [k for k in client().scan_iter("agepar:counter:fileshare:pw:token:*")]
        assert 590_000 < client().pttl(key) <= 600_000
        for _ in range(3):
            csrf_post(browser, path, {"password": "chute"})
        assert client().pttl(key) <= 600_000
        assert int(csrf_post(browser, path, {"password": "chute"})["Retry-After"]) <= 600
        return
    with moved_clock(timedelta(seconds=400)):
        assert csrf_post(browser, path, {"password": "chute"}).status_code == 403
        throttled = csrf_post(browser, path, {"password": "senha-do-arquivo"})
        assert throttled.status_code == 429 and int(throttled["Retry-After"]) == 200
    with moved_clock(timedelta(seconds=601)):  # 201 s after the last attempt: the window is over
        assert csrf_post(browser, path, {"password": "senha-do-arquivo"}).status_code == 200


def test_a_right_password_gives_its_attempt_back(owner_client, browser, settings, counter_store):
    settings.FILESHARE_PASSWORD_ATTEMPTS_PER_TOKEN = 2
    path = public_path(upload(owner_client, password="senha-do-arquivo").json()["link"])
    for _ in range(4):
        assert csrf_post(browser, path, {"password": "senha-do-arquivo"}).status_code == 200
    assert csrf_post(browser, path, {"password": "chute"}).status_code == 403
    assert csrf_post(browser, path, {"password": "chute"}).status_code == 403
    assert csrf_post(browser, path, {"password": "chute"}).status_code == 429
