from django.core.management.base import BaseCommand, CommandError

from agepar.env import parse_positive
from audits.seals import MAX_EVENTS, SealWaitTimeout, seal_audits


class Command(BaseCommand):
    help = ("Seals the audit events recorded since the last seal: count and Merkle root of each range, chained "
            "to the previous seal, each written as an audit.sealed event (docs/audit-seals.md). run_maintenance "
            "runs it; verify with verify_audits.")

    def add_arguments(self, parser):
        parser.add_argument("--max-events", type=parse_positive, default=MAX_EVENTS,
                            help=f"events per seal at most (default {MAX_EVENTS})")
        parser.add_argument("--wait", type=float, default=60.0,
                            help="seconds to wait for transactions still writing audit events (default 60)")

    def handle(self, *args, max_events, wait, **options):
        def progress(seal):
            if options["verbosity"] > 1:
                self.stdout.write(f"seal {seal.number}: events {seal.first_id}-{seal.last_id} ({seal.count})")

        try:
            seals = seal_audits(max_events=max_events, wait_timeout=wait, on_seal=progress)
        except SealWaitTimeout as exc:
            raise CommandError(exc.detail) from None
        if not seals:
            self.stdout.write("nothing to seal")
            return
        first, last = seals[0], seals[-1]
        self.stdout.write(self.style.SUCCESS(
            f"sealed {sum(s.count for s in seals)} events (ids {first.first_id}-{last.last_id}) in "
            f"{len(seals)} seals, {first.number}-{last.number}; latest seal hash {last.hash}"))
