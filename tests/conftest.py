"""Personas and clients shared by every test: owner, other user, the staff roles, anonymous."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

# Fixtures of the real Redis (redis_url, redis_cache, counter_store) and of S3 (moto) for every test module.
pytest_plugins = ["tests.redis_server", "tests.s3_server"]


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


# Staff personas: each holds one portal role (and staff access), so that a test of what a role may
# do cannot pass through the superuser's bypass. The admin role's permissions come from
# accounts.roles, applied to the role groups after migrate.
@pytest.fixture
def staff(db):
    """The `admin` role with staff access, not a superuser."""
    return UserFactory(nome="Carla Admin", email="carla.admin@agepar.go.gov.br", is_staff=True, roles=["admin"])


@pytest.fixture
def superuser(db):
    return UserFactory(nome="Sofia Super", email="sofia.super@agepar.go.gov.br", is_staff=True, is_superuser=True)


@pytest.fixture
def controle(db):
    return UserFactory(nome="Caio Controle", email="caio.controle@agepar.go.gov.br", is_staff=True,
                       roles=["controle"])


@pytest.fixture
def auditor(db):
    return UserFactory(nome="Alice Auditora", email="alice.auditora@agepar.go.gov.br", is_staff=True,
                       roles=["auditor"])


@pytest.fixture
def plain_staff(db):
    """Staff access without any role: signs in to the admin and may see nothing."""
    return UserFactory(nome="Paulo Sem Papel", email="paulo.staff@agepar.go.gov.br", is_staff=True)


@pytest.fixture
def admin_without_staff(db):
    """The admin role without staff access: the API's admin, never the admin console's."""
    return UserFactory(nome="Nina Sem Acesso", email="nina.api@agepar.go.gov.br", roles=["admin"])


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
    """Django's test client signed in as the admin-role persona (not a superuser), for the admin pages."""
    client.force_login(staff)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
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
