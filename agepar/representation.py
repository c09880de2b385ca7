"""Plain-function output for list rows: what DRF's serializer fields would write, without their cost.

A DRF `Serializer(many=True)` walks its fields for every row (about 14 µs per row with a
nested serializer, docs/BENCHMARKS.md); a list endpoint reading `.values()` can build the
same dicts directly. The serializer classes stay as the documented schema, and
tests/perf/test_representation.py holds both rendered outputs byte for byte equal so they
cannot drift apart.

Timestamps are left as the database returns them, aware and in UTC (USE_TZ with the
connection in UTC, agepar.checks), for the renderer to write: the serializers' DateTimeField
converts each to the current time zone, which under /api/ is UTC too (ApiUtcMiddleware).
"""


def text_or_none(value) -> str | None:
    return None if value is None else str(value)
