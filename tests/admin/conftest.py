"""Rows for the admin tests, written straight to the tables (the admin only reads and acts on them)."""

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Session
from fileshare.models import FileShareItem
from tests.submissions.helpers import make_submission


@pytest.fixture
def session_of(db):
    def make(user, **meta) -> Session:
        Client(**meta).force_login(user)
        return Session.objects.filter(user=user).latest("id")

    return make


@pytest.fixture
def share_of(db):
    def make(owner, name="relatorio.pdf", **fields) -> FileShareItem:
        fields = {"expires_at": timezone.now() + timedelta(days=1), **fields}
        return FileShareItem.objects.create(
            owner=owner, original_name=name, storage_name=f"t/{uuid.uuid4().hex}", size=1234,
            content_type="application/pdf", sha256="0" * 64, token_hash=uuid.uuid4().hex * 2, **fields)

    return make


@pytest.fixture
def submission_of(db):
    return make_submission
