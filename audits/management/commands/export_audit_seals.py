from django.core.management.base import BaseCommand, CommandError
from django.db import router
from django.utils import timezone

from audits.encoding import instant
from audits.models import AuditSeal
from audits.verification import Anchor


class Command(BaseCommand):
    help = ("Prints the latest seal of the audit trail (or seal --seal N) as a record to keep outside the "
            "database: publish, e-mail or print it; verify_audits --anchor FILE checks the trail against it.")

    def add_arguments(self, parser):
        parser.add_argument("--seal", type=int, metavar="N", help="this seal instead of the latest")

    def handle(self, *args, seal, **options):
        seals = AuditSeal.objects.using(router.db_for_write(AuditSeal)).order_by("-number")
        found = seals.filter(number=seal).first() if seal is not None else seals.first()
        if found is None:
            raise CommandError(f"there is no seal {seal}" if seal is not None else "nothing is sealed yet")
        self.stdout.write(Anchor.of(found).text(exported_at=instant(timezone.now())), ending="")
