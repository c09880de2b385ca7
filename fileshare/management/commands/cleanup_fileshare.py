"""Expire, clean up and purge shared files. Safe to run from cron, and twice at once."""

import re
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from audits.services import record
from fileshare.models import FileShareItem
from fileshare.services import KIND, delete_blob

# Only names the server generates (<yyyy>/<mm>/<uuid hex>) are ever touched.
STORAGE_NAME = re.compile(r"^\d{4}/\d{2}/[0-9a-f]{32}$")
# A blob is written before its row commits; younger blobs may belong to an upload in flight.
ORPHAN_MIN_AGE = timedelta(hours=1)


class Command(BaseCommand):
    help = ("Marca como excluídos os arquivos expirados e apaga seus blobs, remove blobs órfãos "
            "e apaga as linhas excluídas há mais tempo que FILESHARE_DELETED_RETENTION.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="only count what would be done")
        parser.add_argument("--batch", type=int, default=500, help="rows per transaction (default 500)")

    def handle(self, *args, dry_run=False, batch=500, **options):
        if batch < 1:
            batch = 1
        self.dry_run, self.batch = dry_run, batch
        counts = {"expired": self.expire(), "orphans": self.remove_orphans(), "purged": self.purge()}
        if not dry_run:
            with transaction.atomic():
                record("fileshare.cleanup", actor_label="system:cleanup_fileshare", kind=KIND, details=counts)
        prefix = "[dry-run] " if dry_run else ""
        self.stdout.write(f"{prefix}expired={counts['expired']} orphans={counts['orphans']} purged={counts['purged']}")

    def _locked(self, queryset):
        # Two runs at once take disjoint batches on PostgreSQL; SQLite serializes writers anyway.
        if connection.features.has_select_for_update_skip_locked:
            return queryset.select_for_update(skip_locked=True)
        return queryset

    def expire(self) -> int:
        expired = FileShareItem.objects.filter(deleted_at__isnull=True, expires_at__lte=timezone.now())
        if self.dry_run:
            return expired.count()
        total = 0
        while True:
            with transaction.atomic():
                rows = list(self._locked(expired.order_by("id")).values_list("id", "storage_name")[: self.batch])
                if not rows:
                    break
                # Race: a delete by the owner between the SELECT and here; the filter keeps theirs.
                total += FileShareItem.objects.filter(pk__in=[pk for pk, _ in rows], deleted_at__isnull=True).update(
                    deleted_at=timezone.now(), delete_reason=FileShareItem.DeleteReason.EXPIRED)
            for _, name in rows:
                delete_blob(name)
            self.stdout.write(f"expired: {total}")
        return total

    def _blob_names(self):
        years, _ = default_storage.listdir("")
        for year in sorted(years):
            months, _ = default_storage.listdir(year)
            for month in sorted(months):
                _, files = default_storage.listdir(f"{year}/{month}")
                for name in files:
                    full = f"{year}/{month}/{name}"
                    if STORAGE_NAME.match(full):
                        yield full

    def remove_orphans(self) -> int:
        """Blobs with no live row: left by a crash between write and commit, or a failed delete."""
        try:
            names = self._blob_names()
            removed = 0
            cutoff = timezone.now() - ORPHAN_MIN_AGE
            chunk = []
            for name in names:
                chunk.append(name)
                if len(chunk) >= self.batch:
                    removed += self._remove_orphan_chunk(chunk, cutoff)
                    chunk = []
            if chunk:
                removed += self._remove_orphan_chunk(chunk, cutoff)
            return removed
        except FileNotFoundError:  # the storage root does not exist yet: nothing was ever uploaded
            return 0

    def _remove_orphan_chunk(self, names: list[str], cutoff) -> int:
        live = set(FileShareItem.objects.filter(storage_name__in=names, deleted_at__isnull=True)
                   .values_list("storage_name", flat=True))
        removed = 0
        for name in names:
            if name in live:
                continue
            try:
                if default_storage.get_modified_time(name) > cutoff:
                    continue
            except FileNotFoundError:  # removed by a concurrent run
                continue
            if not self.dry_run:
                delete_blob(name)
            removed += 1
        if removed:
            self.stdout.write(f"orphans: {removed} in this batch")
        return removed

    def purge(self) -> int:
        old = FileShareItem.objects.filter(
            deleted_at__lt=timezone.now() - timedelta(seconds=settings.FILESHARE_DELETED_RETENTION))
        if self.dry_run:
            return old.count()
        total = 0
        while True:
            with transaction.atomic():
                ids = list(self._locked(old.order_by("id")).values_list("id", flat=True)[: self.batch])
                if not ids:
                    break
                total += FileShareItem.objects.filter(pk__in=ids).delete()[0]
            self.stdout.write(f"purged: {total}")
        return total
