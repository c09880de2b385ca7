import time

from django.core.management.base import BaseCommand, CommandError

from submissions.services import submissions_requeue_stale, task_results_fail_dead


class Command(BaseCommand):
    help = ("Requeue running submissions whose worker lease expired (the worker died); after "
            "SUBMISSIONS_MAX_ATTEMPTS they become errors. Task-queue rows left running by a dead worker "
            "are marked failed. Run from cron, or with --every beside the workers.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0,
                            help="keep running, checking every N seconds (0: check once and exit)")

    def handle(self, *, every, verbosity, **options):
        if every < 0:
            raise CommandError("--every must be zero or more seconds")
        while True:
            counts = {**submissions_requeue_stale(), "dead_tasks": task_results_fail_dead()}
            if verbosity and (any(counts.values()) or not every):
                self.stdout.write(" ".join(f"{name}={count}" for name, count in counts.items()))
            if not every:
                return
            time.sleep(every)
