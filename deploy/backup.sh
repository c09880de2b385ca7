#!/usr/bin/env bash
# Back up Portal AGEPAR: the database (a consistent pg_dump -Fc snapshot, or SQLite's online
# backup) and the upload folder, into one timestamped directory; keep the newest BACKUP_KEEP.
#
#   deploy/backup.sh                  # prints the new backup's path on stdout
#
# Environment (NAME_FILE works for every URL):
#   BACKUP_DATABASE_URL  database to dump; defaults to MIGRATE_DATABASE_URL, then DATABASE_URL
#                        (the owner role can read every table; the app role can too)
#   UPLOAD_ROOT          upload folder (default ./var/uploads); BACKUP_UPLOADS=0 skips it (S3:
#                        use bucket versioning/replication instead, see docs/operations.md)
#   BACKUP_DIR           where backups go (default ./var/backups)
#   BACKUP_KEEP          how many backups to keep (default 30: daily backups, 30 days)
#
# Layout: BACKUP_DIR/agepar-YYYYmmddTHHMMSSZ/{db.dump | db.sqlite3, uploads.tar.gz, MANIFEST, SHA256SUMS}.
# The database is dumped first, then the files: every file a dumped row points to is in the
# archive (blobs are only deleted after their row is marked deleted); a file newer than the dump
# is an orphan that cleanup_fileshare removes after a restore. A backup only gets its final name
# once complete, so a failed run never counts towards retention.
set -euo pipefail
umask 077
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"

db_url=$(from_env BACKUP_DATABASE_URL MIGRATE_DATABASE_URL DATABASE_URL)
db_url=${db_url:-sqlite:///$root/var/db.sqlite3}
upload_root=${UPLOAD_ROOT:-$root/var/uploads}
backup_dir=${BACKUP_DIR:-$root/var/backups}
keep=${BACKUP_KEEP:-30}
[[ "$keep" =~ ^[1-9][0-9]*$ ]] || { echo "backup: BACKUP_KEEP must be a positive integer" >&2; exit 2; }

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$backup_dir"
final="$backup_dir/agepar-$stamp"
work="$backup_dir/.agepar-$stamp.partial"
[ ! -e "$final" ] || { echo "backup: $final already exists" >&2; exit 1; }
rm -rf "$work"
mkdir "$work"
trap 'rm -rf "$work"' EXIT

case "$db_url" in
  postgres://*|postgresql://*)
    pg_dump --format=custom --compress=6 --no-password --dbname="$db_url" --file="$work/db.dump"
    pg_restore --list "$work/db.dump" >/dev/null  # the archive reads back
    db_file=db.dump ;;
  sqlite://*)
    sqlite_path=$("$python" -c 'import sys, environ; print(environ.Env.db_url_config(sys.argv[1])["NAME"])' "$db_url")
    [ -f "$sqlite_path" ] || { echo "backup: no SQLite database at $sqlite_path" >&2; exit 1; }
    # SQLite's online backup API: a consistent copy even while the server writes (WAL included).
    "$python" - "$sqlite_path" "$work/db.sqlite3" <<'PY'
import re, sqlite3, sys
source, target = sqlite3.connect(sys.argv[1]), sqlite3.connect(sys.argv[2])
with target:
    source.backup(target)
# Django's CHECK constraints call REGEXP, which SQLite leaves to the application to define.
target.create_function("REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, str(value)) is not None)
check = target.execute("PRAGMA integrity_check").fetchall()
if check != [("ok",)]:
    sys.exit(f"backup: the SQLite copy fails its integrity check: {check[:5]}")
# One self-contained file (the server switches back to WAL when it opens a restored copy).
target.execute("PRAGMA journal_mode=DELETE")
target.close()
source.close()
PY
    db_file=db.sqlite3 ;;
  *) echo "backup: unsupported database URL scheme" >&2; exit 2 ;;
esac

uploads_file=""
if [ "${BACKUP_UPLOADS:-1}" != 0 ]; then
  [ -d "$upload_root" ] || { echo "backup: UPLOAD_ROOT $upload_root is not a directory" >&2; exit 1; }
  # Exit status 1 is GNU tar's "a file changed while being read": an upload in progress, which
  # has no committed row yet. Anything else is a failure.
  tar -C "$upload_root" --create --gzip --file="$work/uploads.tar.gz" . || [ $? -eq 1 ]
  uploads_file=uploads.tar.gz
fi

{
  echo "created_at=$stamp"
  echo "database=$db_file"
  echo "uploads=${uploads_file:-none}"
  echo "host=$(hostname)"
} >"$work/MANIFEST"
(cd "$work" && sha256sum $db_file $uploads_file MANIFEST >SHA256SUMS)

mv "$work" "$final"
trap - EXIT

# Retention: the newest $keep complete backups stay.
find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'agepar-*' | sort -r | tail -n +"$((keep + 1))" |
  while read -r old; do rm -rf -- "$old"; done

echo "$final"
