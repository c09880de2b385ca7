"""django-tasks-db's `db_worker`, plus the heartbeat that tells health checks a worker is alive.

It replaces the upstream command of the same name (this app is listed before django_tasks_db, the
way django.contrib.staticfiles extends `runserver`), so every way of starting a worker beats.
"""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from submissions.workers import Heartbeat


class Command(db_worker.Command):
    help = db_worker.Command.help + ", writing a heartbeat every WORKER_HEARTBEAT_SECONDS"

    def handle(self, *args, **options):
        # With --reload the parent only watches files; the child that runs tasks beats.
        if options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            return super().handle(*args, **options)
        heartbeat = Heartbeat(options["worker_id"])
        heartbeat.start()
        try:
            return super().handle(*args, **options)
        finally:
            heartbeat.stop()
