from django.core.management.base import BaseCommand

from agepar import counters


class Command(BaseCommand):
    help = ("Deletes the rows of throttle and lockout windows that are over (agepar_counter; nothing to do "
            "with Redis, which expires them itself). Run by run_maintenance.")

    def handle(self, *args, **options):
        self.stdout.write(f"counters: {counters.purge_expired()} expired deleted")
