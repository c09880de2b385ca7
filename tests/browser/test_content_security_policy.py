"""The pages satisfy their Content-Security-Policy: chromium reports no violation on any of them (issue 14 item 14).

Every page load is watched twice: the `securitypolicyviolation` events the document fires (an init
script records them before any page script runs) and chromium's console errors about the policy.
"""

import pytest

from tests.browser.conftest import admin_login
from tests.browser.test_public_share import share
from tests.submissions.helpers import make_submission

# Records every violation of the document, in the order they happen, before the page's own scripts run.
WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${where}`);
});
"""


@pytest.fixture
def watched(new_page):
    """open() gives a page whose CSP violations (events and console errors) are collected."""
    console = []

    def open_page():
        page = new_page()
        page.context.add_init_script(WATCH)
        page.on("console", lambda message: console.append(message.text)
                if "Content Security Policy" in message.text else None)
        return page

    def violations(page) -> list[str]:
        return page.evaluate("window.__cspViolations") + console

    open_page.violations = violations
    return open_page


def visit(page, path: str, ready: str) -> str:
    """Loads `path`, waits for `ready` (a selector) and the network to settle; returns the CSP header."""
    response = page.goto(path)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    return response.headers.get("content-security-policy", "")


def test_the_admin_and_the_api_docs_raise_no_violation(watched, superuser, owner):
    submission = make_submission(owner, status="done", result={"documento": {"nome": "Ana Dona"}})
    page = watched()
    sign_in = visit(page, "/admin/login/", "#id_username")
    assert "script-src 'self'" in sign_in and watched.violations(page) == []
    admin_login(page, superuser)
    pages = [
        ("/", "ul.links"),
        ("/admin/", "#content-main"),
        ("/admin/submissions/submission/", "#result_list"),
        ("/admin/audits/auditevent/", "#changelist"),
        (f"/admin/submissions/submission/{submission.pk}/change/", ".field-payload_table"),
        # The user form: date widgets, the groups' filter widget, the password link.
        (f"/admin/accounts/user/{owner.pk}/change/", "#user_form"),
        ("/api/docs/", ".swagger-ui .opblock"),  # Swagger UI rendered the operations from the schema
    ]
    seen = {}
    for path, ready in pages:
        header = visit(page, path, ready)
        assert "script-src 'self'" in header and "style-src 'self'" in header, (path, header)
        seen[path] = watched.violations(page)
    assert seen == {path: [] for path, _ in pages}
    # The Swagger UI did run (the policy did not just stop it): it lists the API's operations.
    assert page.locator(".swagger-ui .opblock").count() > 10


def test_the_public_share_page_and_its_password_form_raise_no_violation(watched, owner):
    link = share(watched(), owner, password="segredo-compartilhado")
    page = watched()  # the recipient
    assert "default-src 'self'" in visit(page, link, "form")
    page.get_by_label("Este arquivo é protegido por senha").fill("senha-errada")
    with page.expect_navigation():
        page.get_by_role("button", name="Baixar arquivo").click()
    assert page.get_by_role("alert").inner_text() == "Senha incorreta."
    # The page is styled from its file (the header bar's colour), not left unstyled by the policy.
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(11, 79, 138)"
    assert watched.violations(page) == []
