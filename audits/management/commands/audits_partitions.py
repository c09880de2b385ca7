from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from audits import partitions


def _months(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 24:
        raise ValueError
    return value


class Command(BaseCommand):
    help = ("PostgreSQL: creates the audit trail's monthly partitions from this month to --ahead months on, "
            "moves events that landed in the DEFAULT partition into partitions of their own month, and lists "
            "the partitions. Run it daily (run_maintenance does) as the migrator role. Nothing to do on SQLite.")

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=_months, default=partitions.AHEAD,
                            help=f"months to create ahead of the current one (default {partitions.AHEAD})")

    def handle(self, *args, ahead, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            self.stdout.write("audit partitions: SQLite keeps one table; nothing to do")
            return
        if not partitions.is_partitioned(connection):
            raise CommandError("the audit table is not partitioned: run `migrate` first (audits 0006)")
        for name in partitions.ensure_months(connection, now=timezone.now(), ahead=ahead):
            self.stdout.write(f"created {name}")
        for partition in partitions.partitions(connection):
            span = f"{partition.month:%Y-%m}" if partition.month else "DEFAULT"
            self.stdout.write(f"{partition.name}\t{span}\t~{partition.estimated_rows} rows")
