import time

from django.core.management.base import BaseCommand, CommandError

from submissions.services import submissions_requeue_stale


class Command(BaseCommand):
    help = ("Requeue running submissions whose worker lease expired (the worker died); after "
            "SUBMISSIONS_MAX_ATTEMPTS they become errors. Run from cron, or with --every beside the workers.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0,
                            help="keep running, checking every N seconds (0: check once and exit)")

    def handle(self, *, every, verbosity, **options):
        if every < 0:
            raise CommandError("--every must be zero or more seconds")
        while True:
            counts = submissions_requeue_stale()
            if verbosity and (counts["requeued"] or counts["failed"] or not every):
                self.stdout.write(f"requeued={counts['requeued']} failed={counts['failed']}")
            if not every:
                return
            time.sleep(every)
