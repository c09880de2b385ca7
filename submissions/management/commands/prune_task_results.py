from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from agepar.env import parse_duration
from submissions.services import task_results_prune


class Command(BaseCommand):
    help = ("Delete finished task-queue rows (django-tasks-db results: the submissions keep their own outcome) "
            "and heartbeat rows of workers gone longer than --older-than (default TASK_RESULTS_RETENTION).")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", default=None, help="e.g. 7d, 36h (default: TASK_RESULTS_RETENTION)")

    def handle(self, *, older_than, verbosity, **options):
        try:
            seconds = parse_duration(older_than) if older_than else settings.TASK_RESULTS_RETENTION
        except ValueError as exc:
            raise CommandError(f"--older-than: {exc}") from None
        deleted = task_results_prune(before=timezone.now() - timedelta(seconds=seconds))
        if verbosity:
            self.stdout.write(f"deleted={deleted}")
