"""Blobs in the default storage under names the server generates: `[<prefix>/]<yyyy>/<mm>/<uuid hex>`.

Shared files live at the root (`2025/03/<uuid>`), automation results under `results/`. Only such
names are ever written, listed or deleted here, never one a client chose or another program put
in the storage.
"""

import logging
import re
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime, timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

log = logging.getLogger(__name__)

YEAR, MONTH, LEAF = re.compile(r"^\d{4}$"), re.compile(r"^\d{2}$"), re.compile(r"^[0-9a-f]{32}$")


def new_name(prefix: str = "", now: datetime | None = None) -> str:
    return f"{_folder(prefix)}{now or timezone.now():%Y/%m}/{uuid.uuid4().hex}"


def delete(names: Iterable[str]) -> None:
    """Best effort: a blob that survives becomes an orphan, which the cleanup commands remove."""
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:
            log.exception("could not delete blob %s", name)


def names(prefix: str = "") -> Iterator[str]:
    """Every blob under `prefix`, oldest month first."""
    folder = _folder(prefix)
    try:
        years, _ = default_storage.listdir(prefix)
    except FileNotFoundError:  # nothing was ever stored
        return
    for year in sorted(y for y in years if YEAR.match(y)):
        months, _ = default_storage.listdir(f"{folder}{year}")
        for month in sorted(m for m in months if MONTH.match(m)):
            _, leaves = default_storage.listdir(f"{folder}{year}/{month}")
            yield from (f"{folder}{year}/{month}/{leaf}" for leaf in leaves if LEAF.match(leaf))


def orphans(prefix: str, *, claimed: Callable[[list[str]], Collection[str]], min_age: timedelta,
            batch_size: int) -> Iterator[list[str]]:
    """Batches of the blobs under `prefix` that no row claims (`claimed(batch)` returns the names that
    one does) and that are older than `min_age`: a blob is written before its row commits, so a
    younger one may belong to a write still in flight."""
    cutoff = timezone.now() - min_age
    batch: list[str] = []
    for name in names(prefix):
        batch.append(name)
        if len(batch) >= batch_size:
            yield _unclaimed(batch, claimed, cutoff)
            batch = []
    if batch:
        yield _unclaimed(batch, claimed, cutoff)


def _unclaimed(batch: list[str], claimed: Callable[[list[str]], Collection[str]], cutoff: datetime) -> list[str]:
    taken = set(claimed(batch))
    found = []
    for name in batch:
        if name in taken:
            continue
        try:
            if default_storage.get_modified_time(name) <= cutoff:
                found.append(name)
        except FileNotFoundError:  # removed meanwhile by a concurrent run
            continue
    return found


def _folder(prefix: str) -> str:
    return f"{prefix.strip('/')}/" if prefix else ""
