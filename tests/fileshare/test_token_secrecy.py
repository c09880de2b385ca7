"""Link tokens are secrets: only their SHA-256 is stored, and no log line ever carries one."""

import hashlib
import io
import logging

import pytest
from django.db import connection
from django.test import Client

from agepar.logging import RedactSecretsFilter
from fileshare.models import FileShareItem
from tests.fileshare.helpers import ITEMS_URL, public_path, token_of, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_output():
    """Everything the configured (redacting) log handlers write during the test."""
    handlers = [h for h in logging.getLogger().handlers
                if isinstance(h, logging.StreamHandler) and any(isinstance(f, RedactSecretsFilter) for f in h.filters)]
    assert handlers, "the console handler with RedactSecretsFilter is configured"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    levels = {name: logging.getLogger(name).level for name in ("", "django.request")}
    logging.getLogger().setLevel(logging.DEBUG)
    logging.getLogger("django.request").setLevel(logging.DEBUG)
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def every_stored_value() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (table names from the schema)
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def test_tokens_appear_nowhere_in_the_database_or_the_logs(owner_client, log_output,
                                                           django_capture_on_commit_callbacks):
    browser = Client(enforce_csrf_checks=True)
    body = upload(owner_client, password="senha-do-arquivo").json()
    first = token_of(body["link"])
    page = browser.get(public_path(body["link"]))
    csrf = page.cookies["csrftoken"].value
    assert browser.post(public_path(body["link"]) + "/download",
                        {"password": "errada", "csrfmiddlewaretoken": csrf}).status_code == 403
    assert browser.post(public_path(body["link"]) + "/download",
                        {"password": "senha-do-arquivo", "csrfmiddlewaretoken": csrf}).status_code == 200
    rotated = owner_client.post(f"{ITEMS_URL}/{body['id']}/link").json()["link"]
    second = token_of(rotated)
    assert browser.get(public_path(body["link"])).status_code == 410  # revoked, kept only as its hash
    assert browser.get(public_path(rotated)).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_client.delete(f"{ITEMS_URL}/{body['id']}").status_code == 204
    assert browser.get(public_path(rotated) + "/download").status_code == 410

    item = FileShareItem.objects.get(pk=body["id"])
    assert item.token_hash == hashlib.sha256(second.encode()).hexdigest()
    stored = every_stored_value()
    logs = log_output.getvalue()
    assert "/s/<redacted>" in logs  # the flow did log its requests
    for token in (first, second):
        assert token not in stored
        assert token not in logs
