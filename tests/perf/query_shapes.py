"""Query-shape checks for list endpoints and admin changelists (N+1, unbounded counts).

    shape = query_shape(client, "/api/audits", page_sizes=(5, 50))
    assert shape.constant, shape.explain()

A list whose number of queries grows with its page size runs one query per row somewhere
(a missing select_related/values(), a per-row permission check...): that is an N+1, and at
page size 200 it is 200 extra round trips. A COUNT without a LIMIT inside it reads every
matching row: at a million rows it costs more than the page itself.
"""

import re
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext

_COUNT = re.compile(r"\bCOUNT\s*\(", re.I)
_LIMIT = re.compile(r"\bLIMIT\b", re.I)


def captured_sql(client, path: str, *, expect: int = 200) -> list[str]:
    """The SQL run while `client` GETs `path` (which must answer `expect`)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == expect, (path, response.status_code, getattr(response, "content", b"")[:300])
    return [q["sql"] for q in queries]


def unbounded_counts(sqls: list[str]) -> list[str]:
    """COUNT queries with no LIMIT anywhere in them: they read every matching row."""
    return [sql for sql in sqls if _COUNT.search(sql) and not _LIMIT.search(sql)]


@dataclass
class QueryShape:
    path: str
    counts: dict[int, int] = field(default_factory=dict)
    queries: dict[int, list[str]] = field(default_factory=dict)

    @property
    def constant(self) -> bool:
        return len(set(self.counts.values())) == 1

    def explain(self) -> str:
        lines = [f"{self.path}: queries per page size {self.counts} (an N+1 if they differ)"]
        for size, sqls in self.queries.items():
            lines += [f"  page_size={size}:"] + [f"    {sql[:160]}" for sql in sqls]
        return "\n".join(lines)


def query_shape(client, path: str, *, page_sizes=(5, 50), param: str = "page_size", rows_at_least=None) -> QueryShape:
    """Queries run by `path` at each page size; `rows_at_least(response)` checks the page was full."""
    shape = QueryShape(path)
    separator = "&" if "?" in path else "?"
    client.get(path)  # the first request of a session may load or touch things once
    for size in page_sizes:
        url = f"{path}{separator}{param}={size}" if param else path
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if rows_at_least is not None:
            assert rows_at_least(response) >= size, f"{url}: fewer rows than the page size, the check proves nothing"
        shape.counts[size] = len(queries)
        shape.queries[size] = [q["sql"] for q in queries]
    return shape
