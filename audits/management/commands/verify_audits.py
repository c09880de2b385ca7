from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from agepar.errors import NotFound
from audits.verification import Anchor, verify_trail


class Command(BaseCommand):
    help = ("Recomputes every seal of the audit trail from its events and walks the chain of seals; exits "
            "non-zero naming the first range that does not match (docs/operations.md, 'Audit seals').")

    def add_arguments(self, parser):
        parser.add_argument("--from-seal", type=int, metavar="N",
                            help="recompute the events of seal N and later only (the chain is always walked whole)")
        parser.add_argument("--anchor", type=Path, metavar="FILE",
                            help="a seal exported earlier by export_audit_seals: the trail must still hold it")

    def handle(self, *args, from_seal, anchor, **options):
        expected = None
        if anchor is not None:
            try:
                expected = Anchor.parse(anchor.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise CommandError(f"--anchor {anchor}: {exc}") from None

        def progress(seal):
            if options["verbosity"] > 1:
                self.stdout.write(f"seal {seal.number}: events {seal.first_id}-{seal.last_id}")

        try:
            report = verify_trail(from_seal=from_seal, anchor=expected, on_seal=progress)
        except NotFound as exc:
            raise CommandError(f"--from-seal: {exc.detail}") from None
        summary = (f"{report.seals} seals, {report.verified} verified ({report.events} events), "
                   f"{len(report.pruned)} pruned, {report.unsealed} events not sealed yet")
        if expected is not None:
            summary += f"; anchor seal {expected.seal}"
        if report.ok:
            self.stdout.write(self.style.SUCCESS(f"audit trail intact: {summary}"))
            return
        for problem in report.problems:
            self.stderr.write(f"BAD {problem}")
        raise CommandError(f"audit trail verification FAILED ({len(report.problems)} problem(s); {summary}); "
                           f"first bad range: {report.problems[0]}")
