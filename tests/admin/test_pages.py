"""The pages people land on: `/`, the error pages (Portuguese, branded), the API's JSON 404 and its docs."""

import pytest
from django.test import Client, RequestFactory

from agepar import views

pytestmark = pytest.mark.django_db


def test_the_root_is_a_small_portuguese_page_with_the_ways_in(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="pt-BR"' in html and 'href="/admin/"' in html and 'href="/api/docs/"' in html
    assert "<style" not in html and "<script" not in html  # CSP: styles come from a file


@pytest.mark.parametrize("path", ["/nada-aqui", "/s/", "/s/abc/nada"])
def test_unknown_pages_get_the_portuguese_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    html = response.content.decode()
    assert "Página não encontrada" in html and "Not Found" not in html


def test_a_staff_member_refused_a_page_gets_the_portuguese_403(controle):
    client = Client()
    client.force_login(controle)
    response = client.get("/admin/accounts/session/")
    assert response.status_code == 403
    assert "Acesso negado" in response.content.decode() and "Forbidden" not in response.content.decode()


def test_the_500_page_is_portuguese():
    response = views.server_error(RequestFactory().get("/admin/"))
    assert response.status_code == 500
    assert "Erro interno" in response.content.decode() and "Server Error" not in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_paths_answer_json_404_even_in_debug(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/nao-existe/de/jeito/nenhum")
    assert response.status_code == 404
    assert response.json() == {"detail": "Não encontrado.", "code": "not_found"}


def test_anonymous_api_docs_lead_to_sign_in_and_the_schema_answers_401_json(client):
    response = client.get("/api/docs/")
    assert response.status_code == 302 and response["Location"] == "/admin/login/?next=/api/docs/"
    schema = client.get("/api/schema/")
    assert schema.status_code == 401 and schema["Content-Type"].startswith("application/json")
    assert schema.json()["code"] == "not_authenticated"


def test_signed_in_api_docs_are_served_from_the_portal_itself(owner):
    client = Client()
    client.force_login(owner)
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.fixture
def live_share(owner):
    """A live password-protected share and its public page's path."""
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from fileshare import tokens
    from fileshare.models import FileShareItem

    token, token_hash = tokens.new_token()
    FileShareItem.objects.create(
        owner=owner, original_name="relatorio.pdf", storage_name="t/relatorio", size=10, content_type="application/pdf",
        sha256="0" * 64, token_hash=token_hash, password=make_password("segredo-1"),
        expires_at=timezone.now() + timedelta(days=1))
    return f"/s/{token}"


def assert_portuguese_page(response, status: int, heading: str, english: str):
    assert response.status_code == status
    html = response.content.decode()
    assert 'lang="pt-BR"' in html and f"<h1>{heading}</h1>" in html, html[:500]
    assert english not in html


def test_a_public_page_that_fails_gets_the_portuguese_500(live_share, monkeypatch):
    from fileshare import selectors

    assert Client().get(live_share).status_code == 200

    def broken(token):
        raise RuntimeError("banco em manutenção")

    monkeypatch.setattr(selectors, "item_by_token", broken)
    response = Client(raise_request_exception=False).get(live_share)
    assert_portuguese_page(response, 500, "Erro interno", "Server Error")
    assert "banco em manutenção" not in response.content.decode()


def test_a_share_form_posted_without_its_csrf_token_gets_the_portuguese_403(live_share):
    # A stale or forged password form (no CSRF cookie/token): refused before the password is checked.
    response = Client(enforce_csrf_checks=True).post(f"{live_share}/download", {"password": "segredo-1"})
    assert_portuguese_page(response, 403, "Acesso negado", "Forbidden")
    assert "CSRF verification failed" not in response.content.decode()


def test_a_refusal_outside_the_admin_and_the_api_gets_the_portuguese_403():
    from django.core.exceptions import PermissionDenied

    # The handler Django calls when any page outside /api/ raises PermissionDenied.
    response = views.permission_denied(RequestFactory().get("/s/abc"), PermissionDenied())
    assert_portuguese_page(response, 403, "Acesso negado", "Forbidden")
