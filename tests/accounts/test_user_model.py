import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts.models import User


@pytest.mark.django_db
def test_cpf_is_stored_as_digits():
    user = User.objects.create_user(email="a@agepar.go.gov.br", password="x" * 12, nome="A", cpf="529.982.247-25")
    user.refresh_from_db()
    assert user.cpf == "52998224725"


@pytest.mark.django_db
def test_invalid_cpf_is_refused():
    with pytest.raises(ValidationError):
        User.objects.create_user(email="a@agepar.go.gov.br", password="x" * 12, nome="A", cpf="111.111.111-11")
    assert not User.objects.exists()


@pytest.mark.django_db
def test_email_is_unique_whatever_its_case():
    User.objects.create_user(email="Maria@Agepar.go.gov.br", password="x" * 12, nome="Maria")
    assert User.objects.get(email__iexact="maria@agepar.go.gov.br").email == "maria@agepar.go.gov.br"
    with pytest.raises((ValidationError, IntegrityError)), transaction.atomic():
        User.objects.create_user(email="MARIA@agepar.go.gov.br", password="x" * 12, nome="Outra")


@pytest.mark.django_db
def test_the_database_refuses_a_mixed_case_email_written_around_the_model():
    User.objects.create_user(email="ze@agepar.go.gov.br", password="x" * 12, nome="Zé")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(email="ze@agepar.go.gov.br").update(email="ZE@agepar.go.gov.br")


@pytest.mark.django_db
def test_cpf_is_unique():
    User.objects.create_user(email="a@x.br", password="x" * 12, nome="A", cpf="52998224725")
    with pytest.raises(ValidationError):
        User.objects.create_user(email="b@x.br", password="x" * 12, nome="B", cpf="529.982.247-25")


@pytest.mark.django_db
def test_users_without_cpf_do_not_collide():
    User.objects.create_user(email="a@x.br", password="x" * 12, nome="A")
    User.objects.create_user(email="b@x.br", password="x" * 12, nome="B")
    assert User.objects.filter(cpf__isnull=True).count() == 2


@pytest.mark.django_db
def test_createsuperuser_works(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Uma-senha-bem-longa-1")
    call_command("createsuperuser", "--noinput", email="Chefe@agepar.go.gov.br", nome="Chefe", verbosity=0)
    user = User.objects.get()
    assert (user.email, user.is_superuser, user.is_staff) == ("chefe@agepar.go.gov.br", True, True)
    assert user.check_password("Uma-senha-bem-longa-1")
