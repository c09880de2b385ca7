"""`flush` (database reset, used between transactional tests) can still empty the audit table."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from audits.models import AuditEvent
from audits.services import record


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_audit_table_and_leaves_the_triggers_armed():
    record("auth.login", kind="auth")
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEvent.objects.exists()
    event = record("auth.login", kind="auth")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audits_auditevent WHERE id = %s", [event.pk])
