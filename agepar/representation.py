"""Plain-function output for list rows: what DRF's serializer fields would write, without their cost.

A DRF `Serializer(many=True)` walks its fields for every row (about 14 µs per row with a
nested serializer, docs/BENCHMARKS.md); a list endpoint reading `.values()` can build the
same dicts directly. The serializer classes stay as the documented schema, and tests compare
both outputs, so the two cannot drift apart unnoticed.
"""

from django.utils import timezone


def iso_datetime(value) -> str | None:
    """DRF DateTimeField's ISO 8601 output: in the current time zone, UTC written as `Z`."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def text_or_none(value) -> str | None:
    return None if value is None else str(value)
