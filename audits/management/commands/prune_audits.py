from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from agepar.env import parse_duration, parse_positive
from audits.services import audit_events_prune

MINIMUM = timedelta(days=1)


class Command(BaseCommand):
    help = ("Deletes audit events older than --older-than: on a partitioned trail (PostgreSQL) whole months by "
            "dropping their partitions, the rest in batches; each month and batch recorded by an audit.pruned event. "
            "The only sanctioned way to delete audit events; run it as the migrator role on PostgreSQL.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True,
                            help="retention period, e.g. 365d (units s, m, h, d; at least 1d)")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
        parser.add_argument("--batch-size", type=parse_positive, default=5000,
                            help="ids per delete transaction (default 5000)")

    def handle(self, *args, older_than, dry_run, batch_size, **options):
        try:
            period = timedelta(seconds=parse_duration(older_than))
        except ValueError as exc:
            raise CommandError(f"--older-than: {exc}") from None
        # A bare number is seconds: "365" would wipe all but the last six minutes.
        if period < MINIMUM:
            raise CommandError(f"--older-than must be at least 1d (got {older_than!r}; a bare number means seconds)")

        def progress(first_id, last_id, deleted, total):
            self.stdout.write(f"batch ids {first_id}-{last_id}: {deleted} deleted ({total} so far)")

        def dropped(partition, deleted, seconds):
            self.stdout.write(f"partition {partition}: detached and dropped, {deleted} events in {seconds:.3f} s")

        result = audit_events_prune(older_than=period, batch_size=batch_size, dry_run=dry_run, on_batch=progress,
                                    on_month=dropped)
        cutoff = result.cutoff.isoformat(timespec="seconds")
        if dry_run:
            self.stdout.write(f"dry run: {result.matched} events older than {cutoff} would be deleted; nothing changed")
            return
        self.stdout.write(self.style.SUCCESS(
            f"deleted {result.deleted} events older than {cutoff}: {result.months_dropped} whole months dropped, "
            f"then {result.batches} batches; "
            f"last audit.pruned event #{result.event.pk}"))
