"""Issue 14 item 17: the OpenAPI schema documents every endpoint (API.md), the public share pages too.

The test walks the URL configuration itself, so an endpoint added later without a schema entry fails it.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from agepar.views import api_not_found

# Served but not part of the contract they describe: the schema and its viewer.
NOT_ENDPOINTS = {"/api/schema/", "/api/docs/"}


def _routes(patterns, prefix=""):
    for entry in patterns:
        pattern = entry.pattern
        text = str(pattern) if isinstance(pattern, RoutePattern) else pattern.regex.pattern
        if isinstance(entry, URLResolver):
            yield from _routes(entry.url_patterns, prefix + text)
        elif isinstance(entry, URLPattern) and entry.callback is not api_not_found:  # the JSON 404 catch-all
            yield prefix + text, entry


def _normalized(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?\w+>", "{}", route)  # path() converters as {}


def _schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


@pytest.mark.django_db
def test_every_api_and_public_share_url_pattern_is_in_the_schema(owner_client):
    documented = {re.sub(r"\{\w+\}", "{}", path) for path in _schema(owner_client)["paths"]}
    served = {_normalized(route) for route, _ in _routes(get_resolver().url_patterns)}
    served = {route for route in served if route.startswith(("/api/", "/s/"))} - NOT_ENDPOINTS
    assert {"/s/{}", "/s/{}/download", "/api/me"} <= served  # the walk sees both trees
    assert served - documented == set()


@pytest.mark.django_db
def test_the_public_share_pages_are_documented_with_their_methods_and_answers(owner_client):
    paths = _schema(owner_client)["paths"]
    assert set(paths["/s/{token}"]) == {"get"}
    assert set(paths["/s/{token}/download"]) == {"get", "post"}
    post = paths["/s/{token}/download"]["post"]
    assert {"200", "403", "404", "410", "429"} <= set(post["responses"])
    assert post["security"] == []
    assert "password" in post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]


@pytest.mark.django_db
def test_login_documents_its_csrf_refusal(owner_client, anon_client):
    login = _schema(owner_client)["paths"]["/api/auth/login"]["post"]["responses"]
    assert "csrf_failed" in login["403"]["description"]
    assert login["403"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
