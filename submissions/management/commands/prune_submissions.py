from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agepar.env import parse_duration
from submissions.services import submissions_prune


class Command(BaseCommand):
    help = "Delete finished (done/error) submissions older than --older-than, in batches, with one audit event."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="age such as 180d, 12h (created before now - age)")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    def handle(self, *, older_than, batch_size, dry_run, **options):
        try:
            seconds = parse_duration(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if seconds <= 0:
            raise CommandError("--older-than must be positive")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        before = timezone.now() - timedelta(seconds=seconds)
        count = submissions_prune(before=before, batch_size=batch_size, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        self.stdout.write(f"{verb} {count} submission(s) created before {before.isoformat()}")
