"""The Content-Security-Policy header on the admin, the API docs and the public share pages (issue 14 item 14).

tests/browser/test_content_security_policy.py proves in chromium that the pages satisfy it.
"""

import re

import pytest
from django.test import Client

from tests.fileshare.helpers import public_path, upload
from tests.submissions.helpers import make_submission

pytestmark = pytest.mark.django_db

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
          "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def inline_code(html: str) -> list[str]:
    """<style> blocks, <script> blocks without src, style="..." and on...= attributes: what the policy blocks."""
    return (re.findall(r"<style\b", html) + re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
            + re.findall(r"\sstyle=|\son[a-z]+=", html))


def test_admin_pages_and_the_api_docs_carry_the_policy(superuser, owner):
    submission = make_submission(owner, status="done", result={"documento": {"nome": "Ana Dona"}})
    client = Client()
    assert client.get("/admin/login/")["Content-Security-Policy"] == POLICY
    client.force_login(superuser)
    for path in ["/admin/", "/admin/submissions/submission/", f"/admin/submissions/submission/{submission.pk}/change/",
                 f"/admin/accounts/user/{owner.pk}/change/", "/api/docs/", "/api/docs/?script="]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == POLICY, path
    docs = client.get("/api/docs/").content.decode()
    assert inline_code(docs) == [] and "agepar/swagger_ui.css" in docs


def test_the_share_page_and_its_password_form_carry_the_policy(owner_client):
    path = public_path(upload(owner_client, password="senha-do-arquivo").json()["link"])
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(path)
    assert page["Content-Security-Policy"] == POLICY
    assert inline_code(page.content.decode()) == []
    token = page.cookies["csrftoken"].value
    wrong = browser.post(path + "/download", {"password": "chute", "csrfmiddlewaretoken": token})
    assert wrong.status_code == 403 and wrong["Content-Security-Policy"] == POLICY
    assert inline_code(wrong.content.decode()) == []
    refused = Client(enforce_csrf_checks=True).post(path + "/download", {"password": "chute"})  # no CSRF token
    assert refused.status_code == 403 and refused["Content-Security-Policy"] == POLICY
    assert inline_code(refused.content.decode()) == []  # the Portuguese CSRF page too


def test_a_view_that_sets_its_own_policy_keeps_it(rf, settings):
    from django.http import HttpResponse

    from agepar.middleware import ContentSecurityPolicyMiddleware

    def own(request):
        response = HttpResponse()
        response["Content-Security-Policy"] = "sandbox"
        return response

    assert ContentSecurityPolicyMiddleware(own)(rf.get("/"))["Content-Security-Policy"] == "sandbox"
    assert ContentSecurityPolicyMiddleware(lambda request: HttpResponse())(rf.get("/"))[
        "Content-Security-Policy"] == POLICY
