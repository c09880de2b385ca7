import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import ROLES

DEMO_ADMIN_EMAIL = "admin@agepar.local"


class Command(BaseCommand):
    help = "Idempotent set-up: creates the portal roles; --demo-admin also creates a demo superuser once."

    def add_arguments(self, parser):
        parser.add_argument("--demo-admin", action="store_true",
                            help="create the demo superuser admin@agepar.local (development only), print its password")

    @transaction.atomic
    def handle(self, *args, demo_admin=False, **options):
        existing = set(Group.objects.filter(name__in=ROLES).values_list("name", flat=True))
        missing = [name for name in ROLES if name not in existing]
        Group.objects.bulk_create([Group(name=name) for name in missing])
        self.stdout.write(f"roles: {len(missing)} created, {len(existing)} already present")
        if demo_admin:
            self._demo_admin()

    def _demo_admin(self):
        User = get_user_model()
        if User.objects.filter(email__iexact=DEMO_ADMIN_EMAIL).exists():
            self.stdout.write(f"demo admin: {DEMO_ADMIN_EMAIL} already exists "
                              f"(change its password with: manage.py changepassword {DEMO_ADMIN_EMAIL})")
            return
        password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(email=DEMO_ADMIN_EMAIL, password=password, nome="Administrador Demo")
        user.groups.set(Group.objects.filter(name__in=["admin", "automations.form2json"]))
        self.stdout.write(self.style.SUCCESS(
            f"demo admin created — e-mail: {DEMO_ADMIN_EMAIL}  password: {password}  (shown only this once)"))
