"""The screens of docs/admin.md at 1366 px: each fits the width (no horizontal scroll) and is pictured.

The pictures land in artifacts/screenshots/guia-*.png; docs/img/admin/ keeps a copy of each
(refresh them by copying after a run).
"""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audits.services import record
from fileshare.models import FileShareItem
from tests.browser.conftest import admin_login, screenshot
from tests.submissions.helpers import make_submission

SCREENS = [
    ("inicio", "/admin/"),
    ("submissoes", "/admin/submissions/submission/"),
    ("auditoria", "/admin/audits/auditevent/"),
    ("sessoes", "/admin/accounts/session/"),
    ("usuarios", "/admin/accounts/user/"),
    ("arquivos", "/admin/fileshare/fileshareitem/"),
]


@pytest.fixture
def activity(owner, other_user):
    now = timezone.now()
    for days_ago in range(0, 20, 2):
        for status in ("done", "done", "error", "queued"):
            row = make_submission(owner if days_ago % 4 else other_user, status=status)
            row.__class__.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=days_ago))
    failed = make_submission(owner, status="error", error="Tempo esgotado ao gerar o documento")
    record("submission.failed", status="failure", actor=owner, kind="form2json", target=failed,
           details={"error": "Tempo esgotado ao gerar o documento", "attempt": 1})
    record("auth.login", actor=owner, kind="auth", target=owner, details={"identifier": owner.email})
    for user in (owner, other_user):
        Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                               "Chrome/131.0.0.0 Safari/537.36", REMOTE_ADDR="10.20.30.40").force_login(user)
    FileShareItem.objects.create(owner=owner, original_name="relatorio-anual-2026.pdf", storage_name="g/1",
                                 size=2_345_678, content_type="application/pdf", sha256="0" * 64,
                                 token_hash="1" * 64, expires_at=now + timedelta(days=7))
    return failed


def test_each_screen_fits_1366_pixels_and_is_pictured(new_page, superuser, activity):
    page = new_page()
    page.set_viewport_size({"width": 1366, "height": 768})
    admin_login(page, superuser)
    for name, url in SCREENS:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{url} scrolls sideways by {overflow} px at 1366 px"
        # Nor does the list inside its own box (Django lets a wide table scroll there).
        hidden = page.evaluate("(() => { const r = document.querySelector('#changelist .results');"
                               " return r ? r.scrollWidth - r.clientWidth : 0; })()")
        assert hidden <= 0, f"{url}: {hidden} px of the list hidden at 1366 px"
        assert page.locator("#content h1, #content h2").count() > 0, url  # a page, not an error
        screenshot(page, f"guia-{name}")
    page.goto(f"/admin/submissions/submission/{activity.pk}/change/")
    screenshot(page, "guia-submissao")
    page.get_by_role("button", name="Reenfileirar").click()
    screenshot(page, "guia-confirmacao")
