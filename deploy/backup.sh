#!/usr/bin/env bash
# Back up Portal AGEPAR: the database (a consistent pg_dump -Fc snapshot, or SQLite's online
# backup) and the upload folder, into one timestamped directory; keep the newest BACKUP_KEEP.
# With BACKUP_S3_BUCKET, also encrypt it with age (before it leaves the host) and copy it to the
# bucket, where copies older than BACKUP_S3_RETENTION_DAYS are deleted.
#
#   deploy/backup.sh        # prints the new backup's path (then the copy's s3:NAME) on stdout
#
# Environment (NAME_FILE works for every URL):
#   BACKUP_DATABASE_URL  database to dump; defaults to MIGRATE_DATABASE_URL, then DATABASE_URL
#                        (the owner role can read every table; the app role can too)
#   UPLOAD_ROOT          upload folder (default ./var/uploads); BACKUP_UPLOADS=0 skips it (S3:
#                        use bucket versioning/replication instead, see docs/operations.md)
#   BACKUP_DIR           where backups go (default ./var/backups)
#   BACKUP_KEEP          how many local backups to keep (default 30: daily backups, 30 days)
#   BACKUP_S3_BUCKET     off-site copies: the bucket (and BACKUP_S3_PREFIX, _ENDPOINT_URL, _REGION,
#                        _ACCESS_KEY_ID, _SECRET_ACCESS_KEY, _RETENTION_DAYS: deploy/s3copy.py --help)
#   BACKUP_AGE_RECIPIENTS  age public keys (age1...; space-separated) the copy is encrypted to, or
#                        BACKUP_AGE_RECIPIENTS_FILE, an age recipients file; required with a bucket
#
# Layout: BACKUP_DIR/agepar-YYYYmmddTHHMMSSZ/{db.dump | db.sqlite3, uploads.tar.gz, INVENTORY.json,
# MANIFEST, SHA256SUMS}; INVENTORY.json: rows per table and files' SHA-256 (deploy/backup-inventory.py).
# The copy in the bucket: PREFIX/agepar-YYYYmmddTHHMMSSZ.tar.age, that folder as a tar, encrypted.
# The database is dumped first, then the files: every file a dumped row points to is in the
# archive (blobs are only deleted after their row is marked deleted); a file newer than the dump
# is an orphan that cleanup_fileshare removes after a restore. A backup only gets its final name
# once complete (copied off-site too, with a bucket), so a failed run never counts towards retention.
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
bucket=$(from_env BACKUP_S3_BUCKET)
recipients=()
if [ -n "${BACKUP_AGE_RECIPIENTS_FILE:-}" ]; then
  recipients=(--recipients-file "$BACKUP_AGE_RECIPIENTS_FILE")
else
  for key in ${BACKUP_AGE_RECIPIENTS:-}; do recipients+=(--recipient "$key"); done
fi
if [ -n "$bucket" ] && [ ${#recipients[@]} -eq 0 ]; then
  echo "backup: BACKUP_S3_BUCKET is set but no BACKUP_AGE_RECIPIENTS(_FILE): a backup never leaves the host unencrypted" >&2
  exit 2
fi

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

"$python" "$root/deploy/backup-inventory.py" record "$work"

{
  echo "created_at=$stamp"
  echo "database=$db_file"
  echo "uploads=${uploads_file:-none}"
  echo "host=$(hostname)"
} >"$work/MANIFEST"
(cd "$work" && sha256sum $db_file $uploads_file INVENTORY.json MANIFEST >SHA256SUMS)

copy=""
if [ -n "$bucket" ]; then
  # Encrypted here, before it leaves the host; the bucket only ever sees age's ciphertext.
  copy="agepar-$stamp.tar.age"
  trap 'rm -rf "$work" "$work.tar.age"' EXIT
  tar -C "$work" --create . | age --encrypt "${recipients[@]}" --output "$work.tar.age"
  s3copy put "$work.tar.age" "$copy"
  rm -f "$work.tar.age"
fi

mv "$work" "$final"
trap - EXIT

# Retention: the newest $keep complete backups stay.
find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'agepar-*' | sort -r | tail -n +"$((keep + 1))" |
  while read -r old; do rm -rf -- "$old"; done

echo "$final"
if [ -n "$copy" ]; then
  echo "s3:$copy"
  s3copy prune  # off-site retention: BACKUP_S3_RETENTION_DAYS (prints what it deletes)
fi
