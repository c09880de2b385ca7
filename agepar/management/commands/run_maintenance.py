import time
import traceback
from io import StringIO

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections


def _steps() -> list[tuple[str, dict]]:
    """The routine jobs, in order, with the options each needs (retention periods from settings)."""
    return [
        ("clearsessions", {}),
        ("clear_counters", {}),
        ("audits_partitions", {}),
        ("prune_audits", {"older_than": settings.AUDITS_RETENTION}),
        ("prune_submissions", {"older_than": settings.SUBMISSIONS_RETENTION}),
        ("requeue_stale", {}),
        ("prune_task_results", {}),
        ("cleanup_fileshare", {}),
        ("cleanup_submission_files", {}),
        # Last, so that the events the steps above just wrote are sealed in the same run.
        ("seal_audits", {}),
    ]


class Command(BaseCommand):
    help = ("Runs the routine cleanup commands in order (clearsessions, clear_counters, audits_partitions, "
            "prune_audits, prune_submissions, requeue_stale, prune_task_results, cleanup_fileshare, "
            "cleanup_submission_files, seal_audits), each only if installed. A failing step does not stop the "
            "others; the command exits non-zero if any failed; with -v 0 it prints only failures (cron mails "
            "only what needs a look). Run it as the migrator role (deploy/as-migrator.sh run_maintenance): "
            "audits_partitions and prune_audits need it.")

    def add_arguments(self, parser):
        parser.add_argument("--skip", action="append", default=[], metavar="COMMAND",
                            help="leave this step out (repeatable)")

    def handle(self, *args, skip, verbosity, **options):
        steps = _steps()
        unknown = sorted(set(skip) - {name for name, _ in steps})
        if unknown:
            raise CommandError(f"--skip: not a maintenance step: {', '.join(unknown)}")
        installed = get_commands()
        failed = []
        report = self.stdout.write if verbosity else lambda line: None
        for name, step_options in steps:
            if name in skip:
                report(f"{name}: skipped (--skip)")
                continue
            if name not in installed:
                report(f"{name}: skipped (command not installed)")
                continue
            started = time.monotonic()
            # With -v 0 a step's own report is kept back, and shown only if the step fails.
            step_out = self.stdout if verbosity else StringIO()
            try:
                call_command(name, verbosity=verbosity, stdout=step_out, stderr=self.stderr, **step_options)
            except Exception as exc:  # one broken step must not keep the others from running
                failed.append(name)
                if not verbosity:
                    self.stderr.write(step_out.getvalue(), ending="")
                self.stderr.write(f"{name}: FAILED after {time.monotonic() - started:.1f}s: "
                                  f"{type(exc).__name__}: {exc}")
                if verbosity > 1:
                    self.stderr.write(traceback.format_exc())
                # A step that lost its connection would hand the next step a dead one (what Django
                # does between two requests).
                for connection in connections.all(initialized_only=True):
                    connection.close_if_unusable_or_obsolete()
            else:
                report(self.style.SUCCESS(f"{name}: ok in {time.monotonic() - started:.1f}s"))
        if failed:
            raise CommandError(f"{len(failed)} maintenance step(s) failed: {', '.join(failed)}")
