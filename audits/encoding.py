"""The canonical encoding of audit events and seals, version 1, and the Merkle tree over it.

docs/audit-seals.md specifies every byte, so that another program can recompute a seal from the
rows alone; deploy/verify-audit-seals.py is such a program (standard library only, written from
that page, not from this module) and tests/audits/test_seal_encoding.py holds the two equal.

An event's encoding depends only on its values, never on how a database stores them: the same
event encodes to the same bytes on SQLite and PostgreSQL and after a dump and restore (a JSON
number is its value, `1.0` and `1` alike; instants are UTC to the microsecond; IPv6 addresses are
written in full; the SQLite UUID text and PostgreSQL's uuid are the same hyphenated string).
"""

import hashlib
import ipaddress
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

VERSION = 1
# The `prev` of the first seal: there is no seal before it.
GENESIS = "0" * 64

# The columns an event's encoding covers, in order (the `version` comes first).
EVENT_COLUMNS = (
    "id", "at", "actor_id", "actor_label", "action", "status", "kind", "target_type", "target_id",
    "session_public_id", "ip", "user_agent", "request_id", "details",
)

_LEAF, _NODE = b"\x00", b"\x01"  # RFC 6962 domain separation: a leaf can never pass for a node


def instant(value: datetime | str) -> str:
    """`2026-03-01T12:00:00.000000Z`: UTC, always six fractional digits.

    SQLite keeps datetimes as text in UTC without an offset, with 0, 3 (the database's own
    clock) or 6 fractional digits; PostgreSQL returns an aware datetime.
    """
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def _number(text: str) -> int | float:
    # JSON numbers by value: 2.0, 2 and 2e0 are one number, whichever way a database keeps it
    # (PostgreSQL's jsonb writes 1e16 as 10000000000000000).
    value = float(text)
    return int(value) if value.is_integer() else value


_load_json = json.JSONDecoder(parse_float=_number).decode
_dump_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=True,
                              check_circular=False).encode


def canonical_json(value) -> bytes:
    """Compact JSON, keys in code point order, UTF-8; a lone surrogate (SQLite only) as its \\u escape."""
    return _dump_json(value).encode("utf-8", "backslashreplace")


def _uuid(value: uuid.UUID | str | None) -> str | None:
    if value is None:
        return None
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))


def _ip(value: str | None) -> str | None:
    if value is None or ":" not in value:
        return value
    try:
        return ipaddress.IPv6Address(value).exploded
    except ValueError:  # a network (`::/64`) rather than an address: its text as the database gives it
        return value


def event_bytes(row: Sequence) -> bytes:
    """The encoding of one event, from its EVENT_COLUMNS values as a database returns them (`details`
    as JSON text)."""
    (event_id, at, actor_id, actor_label, action, status, kind, target_type, target_id, session, ip,
     user_agent, request_id, details) = row
    return canonical_json([
        VERSION, event_id, instant(at), actor_id, actor_label, action, status, kind, target_type, target_id,
        _uuid(session), _ip(ip), user_agent, request_id, _load_json(details),
    ])


def leaf_hash(encoded: bytes) -> bytes:
    return hashlib.sha256(_LEAF + encoded).digest()


def merkle_root(leaves: Sequence[bytes]) -> str:
    """The RFC 6962 Merkle tree hash of the leaf hashes, in hex.

    Pairing level by level and carrying an odd last node up unchanged builds exactly RFC 6962's
    tree (split at the largest power of two below n), without recursion.
    """
    if not leaves:
        raise ValueError("a seal covers at least one event")
    level = list(leaves)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def seal_hash(*, number: int, first_id: int, last_id: int, count: int, last_at: str, root: str, prev: str,
              version: int = VERSION) -> str:
    """The hash that links a seal to the next one (which holds it as its `prev`)."""
    return hashlib.sha256(canonical_json([version, number, first_id, last_id, count, last_at, root, prev])).hexdigest()
