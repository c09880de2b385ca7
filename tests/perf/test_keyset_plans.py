"""Plan guards (not timings) for the time-ordered lists: every page query, first, mid-list or bounded a
year back, reads an index that ends (time, id) in the list's order, with no sort, and a page after
a cursor seeks to it. The old shape (ORDER BY id under a time filter) walked the primary key from
the newest row; so would any plan that sorts or scans the table.

The page SQL is captured from real API requests on a seeded dataset and explained by the database:
EXPLAIN (FORMAT JSON) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite.
"""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import User
from agepar.api import cursor_token
from audits.models import AuditEvent
from bench.seed import BENCH_USER, seed
from submissions.models import Submission
from tests.conftest import make_client
from tests.perf.query_shapes import captured_sql

SIZES = {"users": 20, "audits": 10_000, "submissions": 10_000, "sessions": 0, "shares": 0}
LISTS = {  # path -> (model, keyset columns)
    "/api/submissions": (Submission, ("created_at", "id")),
    "/api/audits": (AuditEvent, ("at", "id")),
}


def _time_ordered_indexes(model, keyset) -> set[str]:
    return {index.name for index in model._meta.indexes if index.fields[-2:] == [f"-{column}" for column in keyset]}


@pytest.fixture
def seeded(db):
    seed(**SIZES)
    with connection.cursor() as cursor:
        for model, _ in LISTS.values():
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return make_client(User.objects.get(email=BENCH_USER))


def _cases(user_id: int) -> list[tuple[str, dict]]:
    year_ago = (timezone.now() - timedelta(days=365)).isoformat()
    month_ago = (timezone.now() - timedelta(days=30)).isoformat()
    return [
        ("/api/submissions", {}),
        ("/api/submissions", {"scope": "all"}),
        ("/api/submissions", {"scope": "all", "status": "error"}),
        ("/api/submissions", {"scope": "all", "kind": "form2json"}),
        ("/api/submissions", {"scope": "all", "created_before": year_ago}),
        ("/api/submissions", {"scope": "all", "created_after": month_ago}),
        ("/api/submissions", {"created_before": year_ago}),
        ("/api/submissions", {"scope": "all", "status": "done", "created_before": year_ago}),
        ("/api/audits", {}),
        ("/api/audits", {"action": "auth.login"}),
        ("/api/audits", {"actor": user_id}),
        ("/api/audits", {"status": "failure"}),
        ("/api/audits", {"at_before": year_ago}),
        ("/api/audits", {"at_after": month_ago}),
        ("/api/audits", {"action": "auth.login", "at_before": year_ago}),
    ]


def _middle_cursor(client, path: str, query: dict) -> str | None:
    """A cursor half way down the list's first 200 rows: a deep page that still has many rows after it
    (near the very end a planner may fairly sort the last few). None if the list is empty (on SQLite,
    bench_seed's submissions are all created now)."""
    model, keyset = LISTS[path]
    rows = client.get(path, {**query, "page_size": 200}).json()["results"]
    if not rows:
        return None
    return cursor_token(model.objects.filter(pk=rows[len(rows) // 2]["id"]).values_list(*keyset).get())


def _with_partitions(cursor, names: set[str]) -> set[str]:
    """The tables or indexes and, where partitioned (the audit trail by month), their partitions'."""
    cursor.execute("SELECT relid::regclass::text FROM unnest(%s::regclass[]) AS n, pg_partition_tree(n)", [list(names)])
    return names | {row[0] for row in cursor.fetchall()}


# At the test's sizes a month's partition holds a few hundred rows, and the week a page reads first
# (audits.api.AuditPagination) fewer: reading them all and sorting is the planner's right answer there,
# and no answer at a million rows (bench/run.py --only partitions). So the guard asks whether the
# query's shape can be answered in order from an index: scans of the whole table, bitmaps and sorts
# priced out, which still leaves them to a query that nothing else can answer.
ORDERED_INDEX_ONLY = ("enable_seqscan", "enable_bitmapscan", "enable_sort")


def _postgresql_problems(sql: str, allowed: set[str], table: str, after_cursor: bool) -> list[str]:
    with connection.cursor() as cursor:
        for setting in ORDERED_INDEX_ONLY:
            cursor.execute(f"SET {setting} = off")
        try:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0][0]["Plan"]
        finally:
            for setting in ORDERED_INDEX_ONLY:
                cursor.execute(f"RESET {setting}")
        tables, allowed = _with_partitions(cursor, {table}), _with_partitions(cursor, allowed)
    nodes, stack = [], [plan]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack += node.get("Plans", [])
    problems = [f"a {node['Node Type']} node" for node in nodes if "Sort" in node["Node Type"]]
    scans = [node for node in nodes if node.get("Relation Name") in tables]
    problems += [f"{node['Node Type']} {node.get('Index Name', '')}" for node in scans
                 if node["Node Type"] not in ("Index Scan", "Index Only Scan") or node["Index Name"] not in allowed]
    if after_cursor and not any("ROW(" in node.get("Index Cond", "") for node in scans):
        problems.append("the cursor's row value is not an index condition")
    return problems


def _sqlite_problems(sql: str, allowed: set[str], table: str, after_cursor: bool) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        steps = [row[-1] for row in cursor.fetchall()]
    problems = [step for step in steps if "TEMP B-TREE" in step]
    scans = [step for step in steps if f" {table} " in f"{step} "]
    problems += [step for step in scans if not any(f"USING INDEX {name}" in step for name in allowed)]
    if after_cursor and not any(step.startswith("SEARCH") and "<" in step for step in scans):
        problems.append(f"no seek to the cursor: {steps}")
    return problems


def test_list_pages_read_a_time_ordered_index_without_sorting(seeded):
    client = seeded
    problems = _postgresql_problems if connection.vendor == "postgresql" else _sqlite_problems
    user_id = User.objects.get(email=BENCH_USER).pk
    failures = []
    for path, query in _cases(user_id):
        model, keyset = LISTS[path]
        allowed, table = _time_ordered_indexes(model, keyset), model._meta.db_table
        for cursor in {None, _middle_cursor(client, path, query)}:
            url = f"{path}?{urlencode({**query, **({'cursor': cursor} if cursor else {})})}"
            page_sql = [sql for sql in captured_sql(client, url) if f'FROM "{table}"' in sql]
            # One query a page; two on the audit partitions when the week before the edge does not fill it.
            assert 1 <= len(page_sql) <= (2 if model is AuditEvent else 1), (url, page_sql)
            failures += [f"{url}: {problem}" for sql in page_sql
                         for problem in problems(sql, allowed, table, cursor is not None)]
    assert not failures, "\n".join(failures)
