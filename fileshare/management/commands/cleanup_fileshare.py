"""Expire, clean up and purge shared files. Safe to run from cron, and twice at once."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from fileshare import services


class Command(BaseCommand):
    help = ("Marca como excluídos os arquivos expirados e apaga seus blobs, cancela os envios diretos "
            "abandonados, libera os envios encerrados cujo link de envio expirou, remove blobs órfãos e "
            "apaga as linhas excluídas há mais tempo que FILESHARE_DELETED_RETENTION.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be done")
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")

    def handle(self, *args, dry_run=False, batch=500, **options):
        batch = max(batch, 1)
        before = timezone.now() - timedelta(seconds=settings.FILESHARE_DELETED_RETENTION)
        expired = services.items_expire_overdue(batch_size=batch, dry_run=dry_run)
        aborted = services.uploads_abort_abandoned(batch_size=batch, dry_run=dry_run)
        ended = services.uploads_drop_ended(batch_size=batch, dry_run=dry_run)
        orphans = services.orphan_blobs_remove(batch_size=batch, dry_run=dry_run)
        purged = services.items_purge_deleted(before=before, batch_size=batch, dry_run=dry_run)
        prefix = "[dry-run] " if dry_run else ""
        self.stdout.write(f"{prefix}expired={expired} orphans={orphans} purged={purged} aborted={aborted} "
                          f"ended={ended}")
