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


# --- the application error family (agepar.errors), as the API answers it -------------------------------

def _answer(exc):
    from agepar.api import exception_handler

    response = exception_handler(exc, {})
    return response.status_code, response.data, {k: v for k, v in response.items() if k != "Content-Type"}


@pytest.mark.parametrize(("error", "status", "code"), [
    ("AppError", 400, "bad_request"),
    ("NotFound", 404, "not_found"),
    ("Forbidden", 403, "permission_denied"),
    ("Conflict", 409, "conflict"),
    ("Gone", 410, "gone"),
    ("PayloadTooLarge", 413, "too_large"),
    ("UnsupportedMediaType", 415, "unsupported_media_type"),
    ("InsufficientStorage", 507, "insufficient_storage"),
])
def test_each_app_error_is_answered_with_its_status_code_and_detail(error, status, code):
    from agepar import errors

    cls = getattr(errors, error)
    assert _answer(cls()) == (status, {"detail": cls.default_detail, "code": code}, {})
    assert _answer(cls("Outra coisa.", code="specific")) == (status, {"detail": "Outra coisa.", "code": "specific"}, {})


def test_an_app_error_may_carry_any_status():
    from agepar.errors import AppError

    assert _answer(AppError("Credenciais inválidas.", "invalid_credentials"))[:2] == (
        400, {"detail": "Credenciais inválidas.", "code": "invalid_credentials"})
    assert _answer(AppError("Ocupado.", "busy", status=423))[0] == 423


def test_throttled_sets_retry_after():
    from agepar.errors import Throttled

    assert _answer(Throttled("Espere.", "locked_out", retry_after=42)) == (
        429, {"detail": "Espere.", "code": "locked_out"}, {"Retry-After": "42"})


def test_invalid_input_carries_the_field_errors():
    from agepar.errors import InvalidInput

    assert _answer(InvalidInput({"senha": ["Curta demais."]}, "weak_password")) == (
        400, {"detail": "Dados inválidos.", "code": "weak_password", "errors": {"senha": ["Curta demais."]}}, {})
    assert _answer(InvalidInput({"x": ["y"]}))[1]["code"] == "invalid"


def test_django_validation_errors_get_the_documented_shape():
    from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

    by_field = ValidationError({"cpf": [ValidationError("CPF inválido.", code="bad_cpf")],
                                NON_FIELD_ERRORS: ["Outro problema."]})
    assert _answer(by_field) == (400, {"detail": "Dados inválidos.", "code": "bad_cpf", "errors": {
        "cpf": ["CPF inválido."], "non_field_errors": ["Outro problema."]}}, {})
    plain = ValidationError("Valor %(v)s fora do intervalo.", code="out_of_range", params={"v": 7})
    assert _answer(plain) == (400, {"detail": "Dados inválidos.", "code": "out_of_range",
                                    "errors": {"non_field_errors": ["Valor 7 fora do intervalo."]}}, {})
    assert _answer(ValidationError(["a", "b"]))[1]["code"] == "invalid"


def test_django_http404_and_permission_denied_keep_their_answers():
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    assert _answer(Http404("detalhe interno")) == (404, {"detail": "Não encontrado.", "code": "not_found"}, {})
    assert _answer(PermissionDenied("detalhe interno")) == (
        403, {"detail": "Você não tem permissão para executar essa ação.", "code": "permission_denied"}, {})

