"""Personas and clients shared by every test: owner, other user, staff, anonymous."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

# Fixtures of the real Redis (redis_url, redis_cache, counter_store) for every test module.
pytest_plugins = ["tests.redis_server"]


@pytest.fixture(autouse=True)
def _clean_cache():
    # Throttle and lockout counters must not leak from one test into the next.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _upload_root(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(tmp_path / "uploads"), "base_url": None}},
    }
    settings.UPLOAD_ROOT = tmp_path / "uploads"


def make_client(user=None) -> APIClient:
    """An API client that enforces CSRF like a browser: it carries the token cookie and header."""
    client = APIClient(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    token = client.get("/api/auth/csrf").json()["csrfToken"]
    client.credentials(HTTP_X_CSRFTOKEN=token)
    return client


@pytest.fixture
def owner(db):
    return UserFactory(nome="Ana Dona", cpf="52998224725")


@pytest.fixture
def other_user(db):
    return UserFactory(nome="Bruno Outro")


@pytest.fixture
def staff(db):
    return UserFactory(nome="Carla Admin", is_staff=True, is_superuser=True, roles=["admin"])


@pytest.fixture
def record_dies_at(monkeypatch):
    """`record_dies_at(module, n)`: the module's audits.record raises on its n-th call, as if the process died."""

    def arm(module, n: int):
        real, calls = module.record, []

        def record(action, **kwargs):
            calls.append(action)
            if len(calls) == n:
                raise RuntimeError("killed")
            return real(action, **kwargs)

        monkeypatch.setattr(module, "record", record)

    return arm


@pytest.fixture
def admin_client(client, staff):
    """Django's test client signed in as the staff persona, for the admin pages."""
    client.force_login(staff)
    return client


@pytest.fixture
def anon_client(db):
    return make_client()


@pytest.fixture
def owner_client(owner):
    return make_client(owner)


@pytest.fixture
def other_client(other_user):
    return make_client(other_user)


@pytest.fixture
def staff_client(staff):
    return make_client(staff)
