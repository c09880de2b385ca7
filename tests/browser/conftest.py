"""Playwright (sync API) driving Debian's chromium against pytest-django's live server.

Every test in this folder is marked `browser`. Without /usr/bin/chromium the tests skip, except
under CI (CI=true), where a missing browser is a failure: .ci/run installs it with apt-get.
"""

import os
import re
from pathlib import Path

import pytest

from tests.factories import DEFAULT_PASSWORD
from tests.live_http import base_url, plain_http  # noqa: F401  (fixtures)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def chromium():
    if not CHROMIUM.exists():
        if in_ci():
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (.ci/run installs chromium)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which makes Django refuse
    # the ORM calls of the test itself; the ORM is not shared with that loop, so that is safe here.
    # Package scope: the loop and the variable are gone before the rest of the suite runs.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, base_url):  # noqa: F811  (the fixture imported above)
    """Pages in fresh browser contexts (one per person), in pt-BR and the portal's time zone."""
    contexts = []

    def open_page():
        context = chromium.new_context(base_url=base_url, locale="pt-BR", timezone_id="America/Sao_Paulo",
                                       accept_downloads=True, viewport={"width": 1600, "height": 900})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


def screenshot(page, name: str) -> Path:
    """Full-page screenshot kept as a CI artifact (artifacts/ is git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def admin_login(page, user, password: str = DEFAULT_PASSWORD):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", user.email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def api_login(page, user, password: str = DEFAULT_PASSWORD) -> str:
    """Sign in like the front end (CSRF cookie, then POST /api/auth/login); returns the session's public id.

    The page's context keeps the cookies, so `page.request` then calls the API as that person.
    """
    response = page.request.post("/api/auth/login", headers={"X-CSRFToken": csrf_token(page)},
                                 data={"identifier": user.email, "password": password})
    assert response.status == 200, response.text()
    return response.json()["session"]["id"]


def csrf_token(page) -> str:
    return page.request.get("/api/auth/csrf").json()["csrfToken"]
