import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import apply_role_permissions

DEMO_ADMIN_EMAIL = "admin@agepar.local"


class Command(BaseCommand):
    help = ("Idempotent set-up: creates the portal roles with their admin permissions (accounts.roles); "
            "--demo-admin also creates a demo superuser once.")

    def add_arguments(self, parser):
        parser.add_argument("--demo-admin", action="store_true",
                            help="create the demo superuser admin@agepar.local (development only), print its password")

    @transaction.atomic
    def handle(self, *args, demo_admin=False, **options):
        # `migrate` applies the same table after every run; this is for a database migrated elsewhere.
        applied = apply_role_permissions()
        self.stdout.write(f"roles: {applied['groups_created']} created, "
                          f"{applied['groups_changed']} with their permissions updated")
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
