#!/usr/bin/env bash
# The monthly restore test: restore the latest backup into a scratch database and folder, compare
# every table's row count and every file's SHA-256 with what the backup recorded when it was made
# (its INVENTORY.json), drop the scratch copies, and exit non-zero on any difference or failure.
#
#   deploy/restore-test.sh            # the newest copy in BACKUP_S3_BUCKET (else the newest in BACKUP_DIR)
#   deploy/restore-test.sh SOURCE     # what deploy/restore.sh takes: a folder, FILE.tar.age, s3:NAME
#
# Environment: the bucket and BACKUP_AGE_IDENTITY_FILE as for deploy/restore.sh; BACKUP_DIR (default
# ./var/backups) holds the scratch folder while it runs. A PostgreSQL backup needs
# RESTORE_TEST_ADMIN_DATABASE_URL (NAME_FILE works too): a role that may CREATE DATABASE, on the
# production server or another one; the scratch database agepar_restore_test_<time> is created
# there, restored into without the dump's grants (RESTORE_NO_ACL=1: the roles need not exist) and
# dropped at the end. A SQLite backup is restored into a file in the scratch folder. Prints one
# summary line (with the time the restore took, the RTO to note) and every difference.
set -euo pipefail
umask 077
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"
[ $# -le 1 ] || { echo "usage: deploy/restore-test.sh [SOURCE]" >&2; exit 2; }

backup_dir=${BACKUP_DIR:-$root/var/backups}
source=${1:-}
if [ -z "$source" ]; then
  if [ -n "$(from_env BACKUP_S3_BUCKET)" ]; then
    source=s3:latest
  else
    source=$(find "$backup_dir" -mindepth 1 -maxdepth 1 -type d -name 'agepar-*' 2>/dev/null | sort | tail -n 1)
    [ -n "$source" ] || { echo "restore-test: no backup in $backup_dir and no BACKUP_S3_BUCKET" >&2; exit 1; }
  fi
fi

mkdir -p "$backup_dir"
scratch=$(mktemp -d "$backup_dir/.restore-test.XXXXXX")
admin_url="" database=""
cleanup() {
  if [ -n "$database" ]; then
    psql --no-psqlrc -X -q --no-password -d "$admin_url" -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" ||
      echo "restore-test: could not drop the scratch database $database" >&2
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT

started=$(date +%s)
mkdir "$scratch/backup"
unpack_backup "$source" "$scratch/backup" || { echo "restore-test: could not decrypt and unpack $source" >&2; exit 1; }
[ -f "$scratch/backup/INVENTORY.json" ] || { echo "restore-test: $source has no INVENTORY.json (made before it was recorded)" >&2; exit 1; }

if [ -f "$scratch/backup/db.dump" ]; then
  admin_url=$(from_env RESTORE_TEST_ADMIN_DATABASE_URL)
  [ -n "$admin_url" ] || { echo "restore-test: a PostgreSQL backup needs RESTORE_TEST_ADMIN_DATABASE_URL" >&2; exit 2; }
  name="agepar_restore_test_$(date -u +%Y%m%d%H%M%S)"
  psql --no-psqlrc -X -q --no-password -v ON_ERROR_STOP=1 -d "$admin_url" -c "CREATE DATABASE \"$name\""
  database=$name
  target_url=$("$python" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$admin_url" "$name")
else
  target_url="sqlite:///$scratch/db.sqlite3"
fi

RESTORE_DATABASE_URL=$target_url UPLOAD_ROOT=$scratch/uploads RESTORE_NO_ACL=1 \
  "$root/deploy/restore.sh" "$scratch/backup" >/dev/null
restored=$(date +%s)

"$python" "$root/deploy/backup-inventory.py" compare "$scratch/backup" --database "$target_url" --uploads "$scratch/uploads" ||
  { echo "restore-test: FAILED: $source restored with differences (above)" >&2; exit 1; }
echo "restore-test: $source restored in $((restored - started))s and identical to its inventory"
