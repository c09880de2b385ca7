#!/usr/bin/env python3
"""Recompute the seals of a Portal AGEPAR audit trail without the application.

    deploy/verify-audit-seals.py --sqlite var/db.sqlite3 [--anchor FILE]
    deploy/verify-audit-seals.py --psql postgresql://auditor@db:5432/agepar [--anchor FILE]

Written from docs/audit-seals.md (encoding version 1) alone, with the Python standard library
and, for PostgreSQL, the `psql` client; it shares no code with the application, so that its
agreement (tests/audits/test_seal_encoding.py) shows the page is enough to check a trail. It
reads the seals and the events, recomputes each seal's count, Merkle root and hash and the
chain, prints one line per seal and exits 1 if anything differs. A seal with no event left is
reported as "no events (pruned?)": whether that is retention is for the reader to judge against
the audit.pruned events; `manage.py verify_audits` does that.
"""

import argparse
import hashlib
import ipaddress
import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

# The queries are fixed text: nothing from the command line goes into them.
SQLITE_SEALS = ("SELECT number, version, first_id, last_id, count, last_at, root, prev, hash "
                "FROM audits_auditseal ORDER BY number")
SQLITE_EVENTS = ("SELECT id, at, actor_id, actor_label, action, status, kind, target_type, target_id, "
                 "session_public_id, ip, user_agent, request_id, details FROM audits_auditevent ORDER BY id")
# PostgreSQL: one JSON array per line from psql; instants turned into the encoding's text by the server.
PG_SEALS = ("SELECT json_build_array(number, version, first_id, last_id, count, "
            "to_char(last_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), root, prev, hash) "
            "FROM audits_auditseal ORDER BY number")
PG_EVENTS = ("SELECT json_build_array(id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
             "actor_id, actor_label, action, status, kind, target_type, target_id, session_public_id, ip, "
             "user_agent, request_id, details) FROM audits_auditevent ORDER BY id")


# --- canonical JSON (docs/audit-seals.md, "Canonical JSON") ---------------------------------------
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')


def _escape(match: re.Match) -> str:
    char = match.group()
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _string(text: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _number(value) -> str:
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == int(value):
        return str(int(value))
    return repr(value)  # shortest round trip; plain for 1e-4 <= |x| < 1e16, else d.ddde-XX


def canonical(value) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda key: key.encode("utf-8", "surrogatepass"))
        return "{" + ",".join(_string(key) + ":" + canonical(value[key]) for key in keys) + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def to_bytes(text: str) -> bytes:
    return text.encode("utf-8")  # lone surrogates are escaped already


# --- one event ------------------------------------------------------------------------------------
def utc(text: str) -> str:
    """SQLite's `YYYY-MM-DD HH:MM:SS[.f...]` (UTC) or an ISO text with an offset -> ...ffffffZ."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def session(value):
    if value is None:
        return None
    digits = value.replace("-", "").lower()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def address(value):
    if value is None or ":" not in value or "/" in value:
        return value
    return ipaddress.IPv6Address(value).exploded


def leaf(event: list) -> bytes:
    (event_id, at, actor_id, actor_label, action, status, kind, target_type, target_id, session_id, ip,
     user_agent, request_id, details) = event
    values = [1, event_id, utc(at), actor_id, actor_label, action, status, kind, target_type, target_id,
              session(session_id), address(ip), user_agent, request_id,
              json.loads(details) if isinstance(details, str) else details]
    return hashlib.sha256(b"\x00" + to_bytes(canonical(values))).digest()


def tree_hash(leaves: list[bytes]) -> str:
    """RFC 6962 §2.1, as written there: split at the largest power of two below n."""
    def mth(items):
        if len(items) == 1:
            return items[0]
        k = 1
        while k * 2 < len(items):
            k *= 2
        return hashlib.sha256(b"\x01" + mth(items[:k]) + mth(items[k:])).digest()
    return mth(leaves).hex()


# --- reading the database -------------------------------------------------------------------------
def from_sqlite(path: str):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    seals = [list(row) for row in db.execute(SQLITE_SEALS)]
    for seal in seals:
        seal[5] = utc(seal[5])
    return seals, (list(row) for row in db.execute(SQLITE_EVENTS))


def _psql_rows(url: str, sql: str):
    command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, encoding="utf-8",  # noqa: S603 (fixed argv)
                          env={**os.environ, "PGCLIENTENCODING": "UTF8"}) as psql:
        for line in psql.stdout:
            yield json.loads(line)
    if psql.returncode:
        sys.exit(f"psql failed ({psql.returncode})")


def from_postgres(url: str):
    return list(_psql_rows(url, PG_SEALS)), _psql_rows(url, PG_EVENTS)


# --- checking -------------------------------------------------------------------------------------
def seal_hash(seal: list) -> str:
    number, version, first_id, last_id, count, last_at, root, prev, _ = seal
    encoded = canonical([version, number, first_id, last_id, count, last_at, root, prev])
    return hashlib.sha256(to_bytes(encoded)).hexdigest()


def check(seals: list, events) -> tuple[list[str], int]:
    lines, bad = [], 0
    events = iter(events)
    pending = next(events, None)
    prev_hash, prev_number, prev_last = "0" * 64, 0, 0
    for seal in seals:
        number, version, first_id, last_id, count, last_at, root, prev, digest = seal
        faults = []
        if version != 1:
            faults.append(f"unknown version {version}")
        if (number, prev, first_id) != (prev_number + 1, prev_hash, prev_last + 1):
            faults.append("does not follow the seal before it")
        if seal_hash(seal) != digest:
            faults.append("its hash does not match it")
        leaves = []
        while pending is not None and pending[0] <= last_id:
            if pending[0] >= first_id:
                leaves.append(leaf(pending))
            else:
                faults.append(f"event {pending[0]} lies outside every seal")
            pending = next(events, None)
        if leaves and len(leaves) != count:
            faults.append(f"{len(leaves)} events, {count} sealed")
        elif leaves and tree_hash(leaves) != root:
            faults.append("Merkle root differs")
        verdict = "; ".join(faults) or ("ok" if leaves else "no events (pruned?)")
        lines.append(f"seal {number} events {first_id}-{last_id}: {verdict}")
        bad += bool(faults)
        prev_hash, prev_number, prev_last = digest, number, last_id
    unsealed = sum(1 for _ in events) + (pending is not None)
    lines.append(f"{len(seals)} seals, {bad} bad, {unsealed} events after the last seal")
    return lines, bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--sqlite", metavar="FILE")
    source.add_argument("--psql", metavar="URL")
    parser.add_argument("--anchor", metavar="FILE", help="an export_audit_seals record the trail must still hold")
    args = parser.parse_args()
    seals, events = from_sqlite(args.sqlite) if args.sqlite else from_postgres(args.psql)
    lines, bad = check(seals, events)
    if args.anchor:
        with open(args.anchor, encoding="utf-8") as anchor_file:
            anchor = dict(line.split(":", 1) for line in anchor_file if ":" in line and not line.startswith("#"))
        number, digest = int(anchor["seal"]), anchor["hash"].strip()
        held = any(seal[0] == number and seal[8] == digest for seal in seals)
        lines.append(f"anchor seal {number}: " + ("held" if held else "NOT in the trail"))
        bad += not held
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
