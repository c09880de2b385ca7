#!/usr/bin/env python3
"""What a backup of deploy/backup.sh holds, recorded when it is made, and checked after a restore.

    deploy/backup-inventory.py record BACKUP_DIR
    deploy/backup-inventory.py compare BACKUP_DIR --database URL [--uploads DIR]

`record` writes BACKUP_DIR/INVENTORY.json: the row count of every table as the dump holds it
(PostgreSQL: read back from db.dump with pg_restore, so it is the dump's own snapshot, one count
per table or partition; SQLite: counted in the db.sqlite3 copy) and the SHA-256 of every file in
uploads.tar.gz. Reading the whole dump and archive back is also the check that they are whole.

`compare` counts the rows of every table of the restored database (a postgresql:// or sqlite:///
URL) and hashes every file under --uploads, prints what differs from the inventory (on stderr)
and a summary line (on stdout), and exits 1 on any difference (a table or file missing, extra,
or different), 0 when identical.
"""

import argparse
import hashlib
import json
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

COPY = re.compile(r'^COPY (?:"?public"?\.)?"?([^" ]+)"? ')


def _postgres_dump_counts(dump: Path) -> dict[str, int]:
    """Rows per table in a custom-format dump: the lines of each COPY block (one per row: COPY's
    text format escapes newlines, and a data line is never a lone backslash-dot)."""
    # pg_restore from PATH, as backup.sh runs pg_dump: the client of the server's major version.
    process = subprocess.Popen(["pg_restore", "--data-only", "--file=-", str(dump)], stdout=subprocess.PIPE,  # noqa: S603, S607
                               encoding="utf-8", errors="surrogateescape")
    counts, table, rows = {}, None, 0
    for line in process.stdout:
        if table is None:
            if match := COPY.match(line):
                table, rows = match[1], 0
        elif line == "\\.\n":
            counts[table] = rows
            table = None
        else:
            rows += 1
    if process.wait() != 0:
        sys.exit(f"backup-inventory: pg_restore could not read {dump} back")
    return counts


def _sqlite_counts(path: str) -> dict[str, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
        return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}  # noqa: S608


def _postgres_counts(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [row[0] for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1")]
        return {table: conn.execute(f'SELECT count(*) FROM ONLY "{table}"').fetchone()[0]  # noqa: S608
                for table in tables}


def _sha256(stream) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def _archive_files(archive: Path) -> dict[str, str]:
    files = {}
    with tarfile.open(archive, "r|gz") as tar:  # one streaming pass
        for member in tar:
            if member.isfile():
                files[member.name.removeprefix("./")] = _sha256(tar.extractfile(member))
    return files


def _folder_files(root: Path) -> dict[str, str]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as stream:
                files[str(path.relative_to(root))] = _sha256(stream)
    return files


def _sqlite_path(url: str) -> str:
    return unquote(urlsplit(url).path)[1:] if url.startswith("sqlite:///") else sys.exit(f"not a SQLite URL: {url}")


def record(backup: Path) -> None:
    if (backup / "db.dump").is_file():
        tables = _postgres_dump_counts(backup / "db.dump")
    elif (backup / "db.sqlite3").is_file():
        tables = _sqlite_counts(str(backup / "db.sqlite3"))
    else:
        sys.exit(f"backup-inventory: {backup} has neither db.dump nor db.sqlite3")
    archive = backup / "uploads.tar.gz"
    files = _archive_files(archive) if archive.is_file() else None
    (backup / "INVENTORY.json").write_text(json.dumps({"tables": tables, "files": files}, indent=1, sort_keys=True))


def _differences(kind: str, expected: dict, actual: dict) -> list[str]:
    found = [f"{kind} missing: {name}" for name in sorted(expected.keys() - actual.keys())]
    found += [f"{kind} not in the backup: {name}" for name in sorted(actual.keys() - expected.keys())]
    found += [f"{kind} differs: {name} (backup {expected[name]}, restored {actual[name]})"
              for name in sorted(expected.keys() & actual.keys()) if expected[name] != actual[name]]
    return found


def compare(backup: Path, database: str, uploads: Path | None) -> int:
    inventory = json.loads((backup / "INVENTORY.json").read_text())
    tables = _postgres_counts(database) if database.startswith(("postgres://", "postgresql://")) \
        else _sqlite_counts(_sqlite_path(database))
    problems = _differences("table", inventory["tables"], tables)
    files = inventory["files"]
    if files is not None:
        if uploads is None:
            sys.exit("backup-inventory: the backup has an upload folder: give --uploads")
        problems += _differences("file", files, _folder_files(uploads) if uploads.is_dir() else {})
    for problem in problems:  # on stderr: what cron mails even when stdout goes to /dev/null
        print(f"backup-inventory: {problem}", file=sys.stderr)
    rows = sum(inventory["tables"].values())
    print(f"backup-inventory: {len(inventory['tables'])} tables ({rows} rows), {len(files or {})} files:"
          f" {'MISMATCH' if problems else 'identical'}")
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deploy/backup-inventory.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    recording = commands.add_parser("record", help="write BACKUP_DIR/INVENTORY.json")
    recording.add_argument("backup", type=Path)
    comparing = commands.add_parser("compare", help="compare a restored database and folder with the inventory")
    comparing.add_argument("backup", type=Path)
    comparing.add_argument("--database", required=True)
    comparing.add_argument("--uploads", type=Path)
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.backup)
        return 0
    return compare(args.backup, args.database, args.uploads)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
