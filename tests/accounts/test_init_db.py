import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import User
from accounts.roles import ROLES


def snapshot():
    return (
        sorted(Group.objects.values_list("id", "name")),
        sorted(User.objects.values_list("id", "email", "password", "is_superuser", "updated_at")),
    )


@pytest.mark.django_db
def test_it_creates_every_role_and_the_demo_admin():
    out = io.StringIO()
    call_command("init_db", "--demo-admin", stdout=out)
    assert set(Group.objects.values_list("name", flat=True)) == set(ROLES)
    admin = User.objects.get(email="admin@agepar.local")
    assert admin.is_superuser and admin.is_staff and not admin.must_change_password
    printed = out.getvalue().split("password: ")[1].split()[0]
    assert admin.check_password(printed)


@pytest.mark.django_db
def test_running_it_twice_changes_nothing_the_second_time():
    call_command("init_db", "--demo-admin", stdout=io.StringIO())
    before = snapshot()
    out = io.StringIO()
    call_command("init_db", "--demo-admin", stdout=out)
    assert snapshot() == before
    assert "password:" not in out.getvalue()
