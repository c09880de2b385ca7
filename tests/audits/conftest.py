import pytest

from tests.conftest import make_client
from tests.factories import UserFactory


@pytest.fixture
def auditor(db):
    return UserFactory(nome="Diana Auditora", roles=["auditor"])


@pytest.fixture
def auditor_client(auditor):
    return make_client(auditor)
