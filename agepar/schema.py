"""OpenAPI generation: every operation documents the errors it can answer, in the shared error shape.

Views declare their own success and specific error responses with @extend_schema; this class adds
the generic ones every view of a kind can give (401 without a session, 400 for a bad body or filter,
404 for an unknown id or cursor, 415 for a body in another media type, 429 when throttled), unless
the view already documents that status code.
"""

from django.conf import settings
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny

from agepar.api import ErrorSerializer

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
DESCRIPTIONS = {
    "400": "Invalid request body or query parameter.",
    "401": "Not signed in, or the session expired or was revoked.",
    "403": "Missing role, password change required, or CSRF check failed.",
    "404": "Not found (or not yours), or an invalid pagination cursor.",
    "415": "Unsupported media type of the request body.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}


class AutoSchema(openapi.AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = []
        permissions = self.view.get_permissions()
        if self.view.get_authenticators() and not all(isinstance(p, AllowAny) for p in permissions):
            codes += ["401", "403"]
        has_body = self.method in UNSAFE and self.get_request_serializer() is not None
        paginated = self._is_list_view() and self._get_paginator() is not None  # filters and a cursor
        if has_body or paginated:
            codes.append("400")
        if "{" in self.path or paginated:
            codes.append("404")
        if has_body:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                error = OpenApiResponse(ErrorSerializer, description=DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(error, code, ["application/json"], direction)
        for code, response in responses.items():
            # An error declared with a description only still answers the shared error body.
            if code.isdigit() and int(code) >= 400 and not response.get("content"):
                error = OpenApiResponse(ErrorSerializer, description=response.get("description", ""))
                responses[code] = self._get_response_for_code(error, code, ["application/json"], direction)
        return dict(sorted(responses.items()))


class SessionScheme(OpenApiAuthenticationExtension):
    """Our SessionAuthentication (401 for anonymous callers) is the session cookie scheme."""

    target_class = "agepar.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "Session cookie from POST /api/auth/login; unsafe methods also need the "
                               "X-CSRFToken header (value of the csrftoken cookie)."}


def _html(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


_TOKEN = {"name": "token", "in": "path", "required": True, "schema": {"type": "string"},
          "description": "The share link's secret token (only its hash is stored)."}
_GONE = {"404": _html("Página \"link não encontrado\": token desconhecido."),
         "410": _html("Página \"link indisponível\": expirado, revogado, excluído ou sem downloads restantes.")}
_FILE = {"description": "O arquivo, como anexo (`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, "
                        "`Cache-Control: private, no-store`); conta um download.",
         "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
_REDIRECT = {"description": "No S3: para uma URL pré-assinada de curta duração (conta um download). "
                            "Num link com senha, um GET volta para a página do link.",
             "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}}}
PUBLIC_SHARE_PATHS = {
    "/s/{token}": {
        "get": {
            "operationId": "public_share_page",
            "summary": "Página pública de um link de compartilhamento",
            "description": "Nome, tamanho, validade e o botão de download (com o campo de senha se o link tiver "
                           "uma). Não conta download. Página HTML em português, fora da API (sem sessão).",
            "tags": ["public share pages"], "security": [], "parameters": [_TOKEN],
            "responses": {"200": _html("A página do link."), **_GONE},
        },
    },
    "/s/{token}/download": {
        "get": {
            "operationId": "public_share_download",
            "summary": "Baixar o arquivo de um link sem senha",
            "tags": ["public share pages"], "security": [], "parameters": [_TOKEN],
            "responses": {"200": _FILE, "302": _REDIRECT, **_GONE},
        },
        "post": {
            "operationId": "public_share_download_with_password",
            "summary": "Baixar o arquivo de um link com senha",
            "description": "O formulário da página do link (token CSRF do cookie `csrftoken`). Tentativas erradas "
                           "são limitadas por link e endereço (`FILESHARE_PASSWORD_ATTEMPTS` por "
                           "`FILESHARE_PASSWORD_WINDOW`).",
            "tags": ["public share pages"], "security": [], "parameters": [_TOKEN],
            "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": ["password", "csrfmiddlewaretoken"],
                "properties": {"password": {"type": "string"}, "csrfmiddlewaretoken": {"type": "string"}}}}}},
            "responses": {
                "200": _FILE, "302": _REDIRECT,
                "403": _html("A página do link com \"senha incorreta\", ou a página de falha CSRF."),
                "429": {**_html("Página \"muitas tentativas\"."),
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                **_GONE,
            },
        },
    },
}


def add_public_share_pages(result, generator, **kwargs):
    """Postprocessing hook: the public share pages (/s/<token>, fileshare/public_urls.py) are plain Django
    views, which drf-spectacular does not see; API.md asks the schema for every endpoint, so they are
    described here by hand (tests/agepar/test_schema_coverage.py checks every URL pattern is present)."""
    result["paths"].update(PUBLIC_SHARE_PATHS)
    return result
