"""The gate the audit table's append-only triggers respect: the one sanctioned way to DELETE events.

Its own module because both retention (audits.services) and the partition maintenance
(audits.partitions, which services import) open it.
"""

from contextlib import contextmanager


@contextmanager
def prune_gate(connection):
    """Let DELETEs on the audit table through for the rest of the current transaction.

    The append-only triggers (migration 0003) refuse DELETE unless the deleting transaction
    holds this gate. Only retention (`audit_events_prune`) and the whole-database `flush`
    command open it. The gate is transaction-scoped: closed on exit, and gone on rollback.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("the audit prune gate must be opened inside a transaction")
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL agepar.audit_prune = 'on'" if postgres
                       else "INSERT INTO audits_prune_gate (opened) VALUES (1)")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL agepar.audit_prune = 'off'" if postgres else "DELETE FROM audits_prune_gate")
