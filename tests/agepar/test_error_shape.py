"""Issue 14 item 15: validation errors keep API.md's shape `{"errors": {field: [messages]}}` at any depth.

A nested serializer's errors used to come back nested (`{"payload": {"nome": [...]}}`, deeper for
items); they are flattened to dotted paths in the exception handler, and the schema says so.
"""

import json
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework import serializers

from agepar.api import flatten_errors
from submissions.models import Submission
from tests.conftest import make_client
from tests.factories import UserFactory
from tests.submissions.conftest import FORM


def _post(payload):
    client = make_client(UserFactory(roles=["automations.form2json"]))
    response = client.post("/api/submissions", json.dumps({"kind": "form2json", "payload": payload}),
                           content_type="application/json")
    assert response.status_code == 400, response.json()
    assert Submission.objects.count() == 0
    return response.json()["errors"]


def _assert_flat(found):
    assert isinstance(found, dict)
    for field, messages in found.items():
        assert isinstance(field, str)
        assert isinstance(messages, list) and messages
        assert all(isinstance(message, str) for message in messages), (field, messages)


@pytest.mark.django_db
def test_a_payload_field_error_is_named_by_its_dotted_path():
    found = _post({**FORM, "nome": 123})
    _assert_flat(found)
    assert list(found) == ["payload.nome"]


@pytest.mark.django_db
def test_an_item_error_is_named_by_path_and_index():
    found = _post({**FORM, "itens": [{"descricao": "Mesa", "quantidade": 1}, {"descricao": 5, "quantidade": 1}]})
    _assert_flat(found)
    assert list(found) == ["payload.itens.1.descricao"]


@pytest.mark.django_db
def test_an_unknown_payload_field_and_a_top_level_error_stay_flat():
    found = _post({**FORM, "extra": 1})
    assert found == {"payload.extra": ["Campo desconhecido."]}
    found = _post(1)
    _assert_flat(found)
    assert list(found) == ["payload"]


def test_flatten_errors_walks_dicts_lists_and_list_field_indexes():
    class Item(serializers.Serializer):
        descricao = serializers.CharField()

    class Body(serializers.Serializer):
        nome = serializers.CharField()
        itens = Item(many=True)
        numeros = serializers.ListField(child=serializers.IntegerField())

    body = Body(data={"nome": "", "itens": [{"descricao": "ok"}, {}], "numeros": [1, "x"]})
    assert not body.is_valid()
    flat = flatten_errors(body.errors)
    _assert_flat(flat)
    assert set(flat) == {"nome", "itens.1.descricao", "numeros.1"}
    assert flatten_errors({"a": "one message"}) == {"a": ["one message"]}
    assert flatten_errors(["whole body"]) == {"non_field_errors": ["whole body"]}


@pytest.mark.django_db
def test_the_schema_error_component_says_one_level_of_dotted_fields(owner_client):
    schema = owner_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    errors = schema["components"]["schemas"]["Error"]["properties"]["errors"]
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    assert "payload.itens.1.descricao" in errors["description"]


def test_api_md_documents_the_dotted_paths():
    text = (Path(settings.BASE_DIR) / "docs" / "API.md").read_text()
    assert "payload.itens.1.descricao" in text
