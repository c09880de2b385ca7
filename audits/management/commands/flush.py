from django.core.management.commands import flush
from django.db import connections, transaction

from audits.gates import prune_gate


class Command(flush.Command):
    """Django's `flush`, able to empty the append-only audit table as well.

    `flush` resets the whole database (development and the test runner's transactional tests
    use it); on SQLite it runs `DELETE FROM` on every table, which the audit triggers would
    refuse. (On PostgreSQL it runs TRUNCATE, which the row triggers do not see; the app role
    lacks the TRUNCATE privilege there.)
    """

    def handle(self, **options):
        connection = connections[options["database"]]
        with transaction.atomic(using=connection.alias):
            if connection.vendor == "sqlite" and "audits_prune_gate" not in connection.introspection.table_names():
                return super().handle(**options)  # audits not migrated yet: no triggers to pass
            with prune_gate(connection):
                return super().handle(**options)
