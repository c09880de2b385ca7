from django.core.management.base import BaseCommand, CommandError

from accounts import lockout


class Command(BaseCommand):
    help = ("Lifts a sign-in lockout before its window ends: of an account (named by its e-mail or CPF) "
            "and/or of a client address. Recorded in the audit trail.")

    def add_arguments(self, parser):
        parser.add_argument("identifier", nargs="?", help="e-mail or CPF of the account")
        parser.add_argument("--address", help="client IP address")

    def handle(self, *args, identifier, address, **options):
        if identifier is None and address is None:
            raise CommandError("give an identifier, --address, or both")
        lockout.unlock(identifier=identifier, address=address)
        self.stdout.write("lockout lifted")
