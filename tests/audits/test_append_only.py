"""The audit table is append-only: the database itself refuses UPDATE and DELETE."""

import pytest
from django.db import IntegrityError, connection, transaction

from audits.models import AppendOnlyError, AuditEvent
from audits.services import record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(owner):
    return record("auth.login", actor=owner, kind="auth", details={"identifier": owner.email})


def _raw(sql, params):
    # A savepoint, so that on PostgreSQL the refused statement does not poison the test's transaction.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_raw_update_is_refused_by_the_database(event):
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("UPDATE audits_auditevent SET action = 'auth.logout' WHERE id = %s", [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).action == "auth.login"


def test_a_raw_delete_is_refused_by_the_database(event):
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("DELETE FROM audits_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(IntegrityError, match="append-only"):
        _raw("DELETE FROM audits_auditevent", [])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_inserts_including_bulk_inserts_are_allowed(db):
    AuditEvent.objects.bulk_create([AuditEvent(action="auth.login", actor_label=f"p{i}") for i in range(3)])
    assert AuditEvent.objects.count() == 3


def test_saving_an_existing_event_again_fails(event):
    event.action = "auth.logout"
    with pytest.raises(AppendOnlyError):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "auth.login"


def test_orm_deletes_and_updates_fail(event):
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="auth.logout")
    event.action = "auth.logout"
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == "auth.login"


def test_deleting_a_user_keeps_their_events_untouched():
    user = UserFactory(email="quem.saiu@agepar.go.gov.br")
    first = record("auth.login", actor=user, kind="auth")
    second = record("user.deactivated", actor=user, target=user, kind="users")
    user_id = user.pk
    # Any cascade or SET NULL into the audit table would hit the UPDATE/DELETE triggers and fail here.
    user.delete()
    rows = list(AuditEvent.objects.filter(pk__in=[first.pk, second.pk]).order_by("id")
                .values_list("actor_id", "actor_label", "target_id"))
    assert rows == [(user_id, "quem.saiu@agepar.go.gov.br", ""),
                    (user_id, "quem.saiu@agepar.go.gov.br", str(user_id))]
