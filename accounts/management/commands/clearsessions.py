from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.services import sessions_clear_expired


class Command(BaseCommand):
    help = ("Deletes expired sessions, and revoked sessions older than SESSION_REVOKED_RETENTION "
            "(revoked ones are kept that long for the record). Run it daily.")

    def handle(self, *args, **options):
        expired, revoked = sessions_clear_expired()
        days = settings.SESSION_REVOKED_RETENTION // 86400
        self.stdout.write(f"sessions: {expired} expired deleted, {revoked} revoked (older than {days} days) deleted")
