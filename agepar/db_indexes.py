"""Index migrations that leave big tables writable on PostgreSQL.

A plain CREATE INDEX blocks every INSERT into the table while it builds, and DROP INDEX blocks
reads too; inside a migration's transaction those locks last until the whole migration commits.
The audit trail and the submissions take writes on every sign-in and every run, so their index
changes use CREATE/DROP INDEX CONCURRENTLY on PostgreSQL (migrations with `atomic = False`), and
the plain statements on SQLite, which has no CONCURRENTLY.

If a concurrent build fails (a deadlock, a cancelled deploy), PostgreSQL keeps an INVALID index
under the new name: drop it (`DROP INDEX CONCURRENTLY <name>`) and migrate again.
"""

from django.contrib.postgres import operations
from django.contrib.postgres.operations import NotInTransactionMixin


class _PlainOutsidePostgreSQL:
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._step("database_forwards", app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._step("database_backwards", app_label, schema_editor, from_state, to_state)

    def _step(self, name, app_label, schema_editor, from_state, to_state):
        # Elsewhere, skip the PostgreSQL class and its transaction check: the plain AddIndex/RemoveIndex.
        concurrent = schema_editor.connection.vendor == "postgresql"
        step = getattr(super() if concurrent else super(NotInTransactionMixin, self), name)
        step(app_label, schema_editor, from_state, to_state)


class AddIndexConcurrently(_PlainOutsidePostgreSQL, operations.AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, CREATE INDEX elsewhere."""


class RemoveIndexConcurrently(_PlainOutsidePostgreSQL, operations.RemoveIndexConcurrently):
    """DROP INDEX CONCURRENTLY on PostgreSQL, DROP INDEX elsewhere."""
