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


@pytest.mark.django_db
def test_seed_admin_from_the_environment_once(monkeypatch, tmp_path):
    from audits.models import AuditEvent

    secret = tmp_path / "seed-password"
    secret.write_text("Staging-Seed-2026-xyz\n")
    monkeypatch.setenv("SEED_ADMIN_EMAIL", "Gestor@AGEPAR.go.gov.br")
    monkeypatch.setenv("SEED_ADMIN_PASSWORD_FILE", str(secret))
    out = io.StringIO()
    call_command("init_db", stdout=out)
    admin = User.objects.get(email="gestor@agepar.go.gov.br")
    assert admin.is_superuser and admin.is_staff and admin.check_password("Staging-Seed-2026-xyz")
    assert list(admin.groups.values_list("name", flat=True)) == ["admin"]
    assert "Staging-Seed" not in out.getvalue()
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor_label == "system:init_db" and "Staging-Seed" not in str(event.details)

    # Idempotent: a second run (even with another password) changes nothing.
    before = snapshot()
    monkeypatch.delenv("SEED_ADMIN_PASSWORD_FILE")
    monkeypatch.setenv("SEED_ADMIN_PASSWORD", "Another-Password-2026-q")
    call_command("init_db", stdout=io.StringIO())
    assert snapshot() == before
    assert AuditEvent.objects.filter(action="user.created").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("email", "password", "message"), [
    ("gestor@agepar.go.gov.br", "", "go together"),
    ("", "Staging-Seed-2026-xyz", "go together"),
    ("gestor@agepar.go.gov.br", "12345", "SEED_ADMIN_PASSWORD"),
])
def test_seed_admin_refuses_half_or_weak_settings(monkeypatch, email, password, message):
    from django.core.management.base import CommandError

    monkeypatch.setenv("SEED_ADMIN_EMAIL", email)
    monkeypatch.setenv("SEED_ADMIN_PASSWORD", password)
    with pytest.raises(CommandError, match=message):
        call_command("init_db", stdout=io.StringIO())
    assert not User.objects.exists()
