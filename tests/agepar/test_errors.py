"""Every API error has the shape {"detail": ..., "code": ...} (API.md conventions)."""

import base64

import pytest


def assert_error(response, status, code):
    assert response.status_code == status
    assert "json" in response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["code"] == code


def test_unknown_api_path_is_a_json_404(anon_client):
    assert_error(anon_client.get("/api/does-not-exist"), 404, "not_found")


def test_unknown_api_path_is_json_for_signed_in_users_too(owner_client):
    assert_error(owner_client.post("/api/nope/nested", {}, format="json"), 404, "not_found")


def test_non_api_404_stays_html(anon_client):
    response = anon_client.get("/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_anonymous_caller_gets_401_json(anon_client):
    response = anon_client.get("/api/schema/?format=json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"]


def test_wrong_method_is_a_json_405(anon_client):
    assert_error(anon_client.post("/api/health", {}, format="json"), 405, "method_not_allowed")


def test_schema_is_served_to_signed_in_users(owner_client):
    response = owner_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/health" in response.json()["paths"]


def test_exception_handler_shapes_validation_errors():
    from rest_framework import serializers

    from agepar.api import exception_handler

    class Input(serializers.Serializer):
        quantidade = serializers.IntegerField(min_value=1)

    form = Input(data={"quantidade": "x"})
    assert not form.is_valid()
    response = exception_handler(serializers.ValidationError(form.errors), {})
    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert list(response.data["errors"]) == ["quantidade"]


def test_api_timestamps_are_utc(owner_client):
    # API.md: ISO 8601 with offset, in UTC — while the admin shows America/Sao_Paulo.
    body = owner_client.get("/api/auth/sessions").json()
    sessions = body["results"] if isinstance(body, dict) else body
    assert sessions and all(s["created_at"].endswith(("Z", "+00:00")) for s in sessions)


def test_a_body_over_the_memory_limit_is_a_json_413(owner_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    # DRF parses JSON from the raw stream, so the limit is enforced by our parser, before reading.
    response = owner_client.post("/api/auth/change-password", {"current_password": "a" * 4096}, format="json")
    assert_error(response, 413, "too_large")


@pytest.mark.parametrize("position", ["abc", "1e999", "1.5"])
@pytest.mark.parametrize("path", ["/api/submissions", "/api/audits", "/api/fileshare/items", "/api/auth/sessions"])
def test_a_forged_cursor_position_is_a_404_not_a_500(staff_client, path, position):
    # The cursor decodes fine; only its position is not an id.
    cursor = base64.b64encode(f"p={position}".encode()).decode()
    assert_error(staff_client.get(path, {"cursor": cursor}), 404, "not_found")
