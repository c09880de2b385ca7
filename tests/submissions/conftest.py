import copy

import pytest
from django.contrib.auth.models import Group

from tests.factories import UserFactory

FORM = {
    "nome": "  Ana   Dona ",
    "email": "Ana.Dona@Agepar.GO.gov.br",
    "departamento": "Compras",
    "prioridade": "alta",
    "data": "2025-03-14",
    "aceitaTermos": True,
    "itens": [{"descricao": "Cadeira  de escritório", "quantidade": 2}, {"descricao": "Mesa", "quantidade": 1}],
}


@pytest.fixture
def form():
    return copy.deepcopy(FORM)


@pytest.fixture
def owner(db):
    # The personas of tests/conftest.py, with the role this automation needs.
    user = UserFactory(nome="Ana Dona", cpf="52998224725", roles=["automations.form2json"])
    return user


@pytest.fixture
def other_user(db):
    return UserFactory(nome="Bruno Outro", roles=["automations.form2json"])


@pytest.fixture
def no_role_user(db):
    return UserFactory(nome="Sem Papel")


def grant(user, *roles):
    user.groups.add(*[Group.objects.get_or_create(name=r)[0] for r in roles])
