import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.roles import apply_role_permissions
from agepar import env
from audits.services import record

DEMO_ADMIN_EMAIL = "admin@agepar.local"


class Command(BaseCommand):
    help = ("Idempotent set-up: creates the portal roles with their admin permissions (accounts.roles); "
            "with SEED_ADMIN_EMAIL and SEED_ADMIN_PASSWORD (or SEED_ADMIN_PASSWORD_FILE) creates that "
            "administrator once (staging); --demo-admin also creates a demo superuser once.")

    def add_arguments(self, parser):
        parser.add_argument("--demo-admin", action="store_true",
                            help="create the demo superuser admin@agepar.local (development only), print its password")

    @transaction.atomic
    def handle(self, *args, demo_admin=False, **options):
        # `migrate` applies the same table after every run; this is for a database migrated elsewhere.
        applied = apply_role_permissions()
        self.stdout.write(f"roles: {applied['groups_created']} created, "
                          f"{applied['groups_changed']} with their permissions updated")
        self._seed_admin()
        if demo_admin:
            self._demo_admin()

    def _seed_admin(self):
        """The administrator of a staging deployment, from the environment; an existing one is left as it is."""
        email = (env.raw("SEED_ADMIN_EMAIL") or "").strip().lower()
        password = env.raw("SEED_ADMIN_PASSWORD") or ""
        if not email and not password:
            return
        if not email or not password:
            raise CommandError("SEED_ADMIN_EMAIL and SEED_ADMIN_PASSWORD (or _FILE) go together.")
        User = get_user_model()
        if User.objects.filter(email__iexact=email).exists():
            self.stdout.write(f"seed admin: {email} already exists; left unchanged")
            return
        user = User(email=email, nome="Administrador", is_staff=True, is_superuser=True)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(f"SEED_ADMIN_PASSWORD: {' '.join(exc.messages)}") from None
        user.set_password(password)
        user.save()
        user.groups.set(Group.objects.filter(name="admin"))
        record("user.created", actor_label="system:init_db", kind="users", target=("accounts.user", user.pk),
               details={"email": email, "roles": ["admin"], "source": "SEED_ADMIN_EMAIL"})
        self.stdout.write(f"seed admin: {email} created")

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
