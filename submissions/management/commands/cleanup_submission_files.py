from django.core.management.base import BaseCommand, CommandError

from submissions.services import submission_files_cleanup


class Command(BaseCommand):
    help = ("Remove result files (results/<yyyy>/<mm>/<uuid>) that no live submission lists, older than an "
            "hour: left by a crash between storing and recording a run, or a delete whose removal failed.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be removed")
        parser.add_argument("--batch-size", type=int, default=500, help="blobs checked per query (default 500)")

    def handle(self, *, dry_run, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        removed = submission_files_cleanup(dry_run=dry_run, batch_size=batch_size)
        self.stdout.write(f"{'[dry-run] would remove' if dry_run else 'removed'} {removed} orphan result file(s)")
