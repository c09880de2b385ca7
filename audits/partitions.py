"""Monthly partitions of the audit trail on PostgreSQL (docs/scaling.md); SQLite keeps one table.

`audits_auditevent` is partitioned by range of `at`, one partition per calendar month in UTC
(`audits_auditevent_YYYY_MM`, the months the seals of issue 19 also follow) plus a DEFAULT
partition, so an insert never fails for a month nobody created. The primary key is (id, at): a
partitioned table's unique keys must hold the partition key; ids still come from one sequence.

- `convert()` (migration 0006) builds the partitioned table next to the plain one, copies the rows
  in batches (resumable: a second run goes on from the highest id copied), and swaps the two in
  one short transaction.
- `ensure_months()` (`manage.py audits_partitions`, daily through run_maintenance) creates the
  months ahead, and moves rows that landed in DEFAULT into a partition of their own month.
- `drop_month()` detaches and drops one whole month (retention, `prune_audits`).

Every partition gets the parent's row trigger (append-only, migration 0003) from PostgreSQL
itself; the app role's missing UPDATE/DELETE/TRUNCATE privileges are taken back on every
partition by deploy/postgres/append-only.sql, run after `migrate` and after `ensure_months()`.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from agepar.db_grants import revoke_append_only_rewrites
from audits.gates import prune_gate
from audits.models import AuditEvent

TABLE = AuditEvent._meta.db_table
DEFAULT = f"{TABLE}_default"
STAGING = f"{TABLE}_p"  # the partitioned table while convert() fills it
AHEAD = 3  # months created ahead of the current one
# The API list reads a page from the week before its edge first (audits.api.AuditPagination): a literal
# bound the planner prunes with, so a page plans one or two months instead of all of them. A week of a
# busy trail holds many pages; a filter too sparse to fill one from a week costs a second query.
PAGE_WINDOW = timedelta(days=7)
_MONTH_NAME = re.compile(rf"^{TABLE}_(\d{{4}})_(\d{{2}})$")


def month_of(instant: datetime) -> datetime:
    """The first instant (UTC) of the month holding `instant`."""
    instant = instant.astimezone(UTC)
    return datetime(instant.year, instant.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def months(first: datetime, last: datetime) -> Iterator[datetime]:
    """Each month from the one holding `first` to the one holding `last`, both included."""
    month, last = month_of(first), month_of(last)
    while month <= last:
        yield month
        month = add_months(month, 1)


def partition_name(month: datetime) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def _bounds(month: datetime) -> str:
    # Literals, not parameters: DDL takes none. Both come from datetimes we built.
    return f"FROM ('{month.isoformat()}') TO ('{add_months(month, 1).isoformat()}')"


def monthly(connection: BaseDatabaseWrapper) -> bool:
    """Whether the trail is partitioned by month there: on PostgreSQL always (migration 0006), without a query."""
    return connection.vendor == "postgresql"


def is_partitioned(connection: BaseDatabaseWrapper, table: str = TABLE) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row and row[0])


@dataclass(frozen=True)
class Partition:
    name: str
    month: datetime | None  # None: the DEFAULT partition
    estimated_rows: int


def partitions(connection: BaseDatabaseWrapper) -> list[Partition]:
    """The partitions of the audit table, oldest month first, DEFAULT last."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_inherits i
                          JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass""", [TABLE])
        found = []
        for name, rows in cursor.fetchall():
            match = _MONTH_NAME.match(name)
            month = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC) if match else None
            found.append(Partition(name, month, rows))
    return sorted(found, key=lambda p: (p.month is None, p.month or datetime.min.replace(tzinfo=UTC)))


def _create_month(cursor, parent: str, month: datetime) -> None:
    cursor.execute(f'CREATE TABLE IF NOT EXISTS "{partition_name(month)}" PARTITION OF "{parent}" '
                   f"FOR VALUES {_bounds(month)}")


def ensure_months(connection: BaseDatabaseWrapper, *, now: datetime, ahead: int = AHEAD,
                  since: datetime | None = None) -> list[str]:
    """Create the partitions from this month (or from `since`) to `ahead` months on, and one for each
    month that has rows in DEFAULT (moving them there); returns the names created. Run it as the
    table's owner."""
    existing = {p.month for p in partitions(connection)}
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT DISTINCT date_trunc(\'month\', at AT TIME ZONE \'UTC\') FROM "{DEFAULT}"')  # noqa: S608
        stranded = {month.replace(tzinfo=UTC) for (month,) in cursor.fetchall()}
    wanted = set(months(since or now, add_months(month_of(now), ahead))) | stranded
    created = []
    for month in sorted(wanted - existing):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if month in stranded:
                _move_out_of_default(connection, cursor, month)
            else:
                _create_month(cursor, TABLE, month)
        created.append(partition_name(month))
    if created:
        revoke_append_only_rewrites(using=connection.alias)
    return created


def _move_out_of_default(connection: BaseDatabaseWrapper, cursor, month: datetime) -> None:
    """A month's partition for rows that landed in DEFAULT: a partition cannot be created over rows
    DEFAULT holds, so they are copied into a new table, removed from DEFAULT and the table attached.
    The rows themselves do not change (same values, same ids); the prune gate lets the DELETE through."""
    name, low, high = partition_name(month), month.isoformat(), add_months(month, 1).isoformat()
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    cursor.execute(f'INSERT INTO "{name}" SELECT * FROM "{DEFAULT}" WHERE at >= %s AND at < %s', [low, high])  # noqa: S608
    with prune_gate(connection):
        cursor.execute(f'DELETE FROM "{DEFAULT}" WHERE at >= %s AND at < %s', [low, high])  # noqa: S608
    # Attaching adds the parent's indexes and row trigger to the new partition.
    cursor.execute(f'ALTER TABLE "{TABLE}" ATTACH PARTITION "{name}" FOR VALUES {_bounds(month)}')


def drop_month(connection: BaseDatabaseWrapper, partition: Partition, *, through: int | None = None) -> int | None:
    """Detach and drop one month's partition, inside the caller's transaction; returns its row count,
    or None (nothing done) if it holds an event with an id above `through` (a sealed trail's events
    not sealed yet). No row trigger fires: the rows go with their table, as retention wants, and
    nothing is left to vacuum."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*), max(id) FROM "{partition.name}"')  # noqa: S608
        rows, highest = cursor.fetchone()
        if through is not None and highest is not None and highest > through:
            return None
        cursor.execute(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{partition.name}"')
        cursor.execute(f'DROP TABLE "{partition.name}"')
    return rows


# --- The one-off conversion of the plain table (migration 0006) --------------------------------------

def _index_definitions(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes but its primary key."""
    cursor.execute("""SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
                      JOIN pg_class c ON c.oid = i.indexrelid
                      WHERE i.indrelid = %s::regclass AND NOT i.indisprimary ORDER BY c.relname""", [table])
    return cursor.fetchall()


def _copy_batches(connection: BaseDatabaseWrapper, batch_size: int) -> None:
    """Copy rows from the plain table to STAGING, `batch_size` ids per transaction, from the highest
    id copied so far. Each batch holds a SHARE lock on the plain table: it waits for the transactions
    writing events to end and holds new ones back for the batch, so every id below the highest
    visible one is committed and `id > copied` misses none (ids come from the sequence when the
    INSERT runs, after it has locked the table)."""
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f'LOCK TABLE "{TABLE}" IN SHARE MODE')
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{STAGING}"')  # noqa: S608
            copied = cursor.fetchone()[0]
            cursor.execute(f'INSERT INTO "{STAGING}" SELECT * FROM "{TABLE}" WHERE id > %s '  # noqa: S608
                           f"ORDER BY id LIMIT %s", [copied, batch_size])
            if cursor.rowcount < batch_size:
                return


def convert(connection: BaseDatabaseWrapper, *, now: datetime, batch_size: int = 50_000) -> None:
    """Turn the plain audit table into the partitioned one, keeping every row as it is (same ids and
    values), its indexes, its trigger and its id sequence. Resumable: run again after an interruption,
    it goes on from where the copy stopped. Inserts wait only for the batch being copied and for the
    final swap."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT MIN(at) FROM "{TABLE}"')  # noqa: S608
        oldest = cursor.fetchone()[0] or now
        cursor.execute(f"""CREATE TABLE IF NOT EXISTS "{STAGING}"
                           (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY,
                            PRIMARY KEY (id, at)) PARTITION BY RANGE (at)""")
        cursor.execute(f'CREATE TABLE IF NOT EXISTS "{DEFAULT}" PARTITION OF "{STAGING}" DEFAULT')
        for month in months(oldest, add_months(month_of(now), AHEAD)):
            _create_month(cursor, STAGING, month)
        cursor.execute(f'DROP TRIGGER IF EXISTS audits_auditevent_append_only ON "{STAGING}"')
        cursor.execute(f"""CREATE TRIGGER audits_auditevent_append_only BEFORE UPDATE OR DELETE ON "{STAGING}"
                           FOR EACH ROW EXECUTE FUNCTION audits_auditevent_append_only()""")
    _copy_batches(connection, batch_size)
    # Indexes after the bulk of the copy (building is cheaper than maintaining), before the swap.
    with connection.cursor() as cursor:
        definitions = _index_definitions(cursor, TABLE)
        for name, definition in definitions:
            staged = definition.replace(f"INDEX {name} ON public.{TABLE} ", f"INDEX IF NOT EXISTS {name}_p ON "
                                        f"public.{STAGING} ", 1)
            cursor.execute(staged)
    _copy_batches(connection, batch_size)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{STAGING}"')  # noqa: S608
        cursor.execute(f'INSERT INTO "{STAGING}" SELECT * FROM "{TABLE}" WHERE id > %s', [cursor.fetchone()[0]])  # noqa: S608
        cursor.execute(f'SELECT (SELECT count(*) FROM "{TABLE}"), (SELECT count(*) FROM "{STAGING}")')  # noqa: S608
        old_rows, new_rows = cursor.fetchone()
        if old_rows != new_rows:
            raise RuntimeError(f"audit partitioning: {old_rows} rows in {TABLE} but {new_rows} copied; nothing swapped")
        # The next id continues the old sequence (each identity column has its own).
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')", [TABLE, STAGING])
        old_sequence, new_sequence = cursor.fetchone()
        cursor.execute(f"SELECT setval(%s, last_value, is_called) FROM {old_sequence}", [new_sequence])  # noqa: S608
        cursor.execute(f'DROP TABLE "{TABLE}"')
        cursor.execute(f'ALTER TABLE "{STAGING}" RENAME TO "{TABLE}"')
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {old_sequence.split('.')[-1]}")
        cursor.execute(f'ALTER INDEX "{STAGING}_pkey" RENAME TO "{TABLE}_pkey"')
        for name, _ in definitions:
            cursor.execute(f'ALTER INDEX "{name}_p" RENAME TO "{name}"')
