"""Plain-function output for list rows: what DRF's serializer fields would write, without their cost.

A DRF `Serializer(many=True)` walks its fields for every row (about 14 µs per row with a
nested serializer, docs/BENCHMARKS.md); a list endpoint reading `.values()` can build the
same dicts directly. The serializer classes stay as the documented schema, and
tests/perf/test_representation.py holds both outputs equal so they cannot drift apart.
"""

from django.utils import timezone


def datetime_writer():
    """A function writing datetimes as DRF's ISO 8601 DateTimeField does: in the current time zone
    (looked up once, not per value), UTC as `Z`, None as None."""
    tz = timezone.get_current_timezone()

    def iso(value) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = timezone.make_aware(value, tz)
        text = value.astimezone(tz).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return iso


def text_or_none(value) -> str | None:
    return None if value is None else str(value)
