"""Issue 14 item 7: no answer of the API (above all to a signed-in user) may be kept by a cache.

The test walks every GET operation of the published OpenAPI schema, so an endpoint added later is
covered without editing it.
"""

import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from fileshare.models import FileShareItem
from tests.conftest import make_client
from tests.submissions.helpers import make_submission


@pytest.fixture
def signed_in(superuser):
    submission = make_submission(superuser, status="done")
    name = default_storage.save(f"t/{uuid.uuid4().hex}", ContentFile(b"%PDF-1.4 test"))
    share = FileShareItem.objects.create(
        owner=superuser, original_name="relatorio.pdf", storage_name=name, size=13,
        content_type="application/pdf", sha256="0" * 64, token_hash=uuid.uuid4().hex * 2,
        expires_at=timezone.now() + timedelta(days=1))
    return make_client(superuser), {"/api/submissions/": submission.pk, "/api/fileshare/": share.pk}


def _get_paths(client) -> list[str]:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # The API's operations; the schema also lists the public share pages (/s/...), which are not API answers.
    return [path for path, operations in schema["paths"].items() if "get" in operations and path.startswith("/api/")]


def _fill(path: str, ids: dict) -> str:
    pk = next((value for prefix, value in ids.items() if path.startswith(prefix)), 1)
    return path.replace("{id}", str(pk)).replace("{name}", "resultado.json").replace("{public_id}", str(uuid.uuid4()))


@pytest.mark.django_db
def test_every_authenticated_get_of_the_schema_says_no_store_and_vary_cookie(signed_in):
    client, ids = signed_in
    paths = _get_paths(client)
    for private in ("/api/me", "/api/auth/sessions", "/api/submissions", "/api/submissions/{id}",
                    "/api/submissions/{id}/result", "/api/audits", "/api/fileshare/items",
                    "/api/fileshare/items/{id}"):
        assert private in paths
    answered = {}
    for path in paths:
        response = client.get(_fill(path, ids))
        answered[path] = response.status_code
        assert "no-store" in response.get("Cache-Control", ""), (path, response.status_code)
        assert "private" in response["Cache-Control"], path
        assert "Cookie" in response.get("Vary", ""), path
    # The walk saw real answers, not only refusals.
    for path in ("/api/me", "/api/auth/sessions", "/api/submissions", "/api/submissions/{id}",
                 "/api/submissions/{id}/result", "/api/audits", "/api/fileshare/items", "/api/fileshare/items/{id}"):
        assert answered[path] == 200, (path, answered[path])


@pytest.mark.django_db
def test_errors_to_a_signed_in_user_are_not_stored_either(signed_in):
    client, _ = signed_in
    response = client.get("/api/submissions/999999")
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/api/auth/csrf", "/api/health", "/api/me"])
def test_anonymous_api_answers_are_not_stored_either(anon_client, url):
    # The CSRF token is per cookie, a 401 must not be replayed to the next person signed in.
    response = anon_client.get(url)
    assert "no-store" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_pages_outside_the_api_are_not_marked(client):
    assert "no-store" not in client.get("/").get("Cache-Control", "")
