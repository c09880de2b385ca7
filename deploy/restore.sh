#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into an EMPTY database and an EMPTY upload folder.
#
#   deploy/restore.sh var/backups/agepar-20260101T030000Z     # a local backup folder
#   deploy/restore.sh s3:latest                               # the newest copy in BACKUP_S3_BUCKET
#   deploy/restore.sh s3:agepar-20260101T030000Z.tar.age      # that copy in the bucket
#   deploy/restore.sh agepar-20260101T030000Z.tar.age         # a copy downloaded already
#
# An encrypted copy is downloaded, decrypted with the age identity (secret key) in
# BACKUP_AGE_IDENTITY_FILE and unpacked into a private folder under BACKUP_DIR (default
# ./var/backups), removed afterwards; the bucket settings are deploy/s3copy.py's (--help).
# Environment: RESTORE_DATABASE_URL (default MIGRATE_DATABASE_URL, then DATABASE_URL; NAME_FILE
# works too) and UPLOAD_ROOT (default ./var/uploads). On PostgreSQL, prepare the target first:
#   createdb agepar && ADMIN_DATABASE_URL=... deploy/postgres/apply-roles.sh
# and restore as the owner role (MIGRATE_DATABASE_URL), so restored objects belong to it and keep
# their grants to the app role. Restoring under other role names: RESTORE_NO_ACL=1, then apply
# roles.sql again (it grants and adopts everything). The script refuses a target that is not
# empty rather than merge into it, checks the SHA-256 sums first, and restores the database in
# a single transaction (all or nothing).
set -euo pipefail
umask 077
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"

[ $# -eq 1 ] || { echo "usage: deploy/restore.sh BACKUP_DIRECTORY | FILE.tar.age | s3:NAME | s3:latest" >&2; exit 2; }
if [ -d "$1" ]; then
  backup=$(cd "$1" && pwd)
else
  mkdir -p "${BACKUP_DIR:-$root/var/backups}"
  backup=$(mktemp -d "${BACKUP_DIR:-$root/var/backups}/.restore.XXXXXX")
  trap 'rm -rf "$backup"' EXIT
  unpack_backup "$1" "$backup" || { echo "restore: could not decrypt and unpack $1" >&2; exit 1; }
fi
db_url=$(from_env RESTORE_DATABASE_URL MIGRATE_DATABASE_URL DATABASE_URL)
db_url=${db_url:-sqlite:///$root/var/db.sqlite3}
upload_root=${UPLOAD_ROOT:-$root/var/uploads}

(cd "$backup" && sha256sum --check --quiet SHA256SUMS) || { echo "restore: checksum mismatch in $backup" >&2; exit 1; }

if [ -f "$backup/uploads.tar.gz" ] && [ -d "$upload_root" ] && [ -n "$(ls -A "$upload_root")" ]; then
  echo "restore: UPLOAD_ROOT $upload_root is not empty" >&2; exit 1
fi

case "$db_url" in
  postgres://*|postgresql://*)
    [ -f "$backup/db.dump" ] || { echo "restore: $backup has no db.dump (not a PostgreSQL backup)" >&2; exit 1; }
    objects=$(psql --no-psqlrc -X -At --no-password -d "$db_url" -c \
      "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')")
    [ "$objects" = 0 ] || { echo "restore: the target database is not empty ($objects objects in public)" >&2; exit 1; }
    acl=()
    [ "${RESTORE_NO_ACL:-0}" = 0 ] || acl=(--no-acl)
    pg_restore --no-password --exit-on-error --single-transaction --no-owner "${acl[@]}" \
      --dbname="$db_url" "$backup/db.dump"
    # The dump's grants are relative to a table's creation, not to the default privileges the
    # restored tables were created with: take the audit trail's rewrites back again.
    psql --no-psqlrc -X -q --no-password -v ON_ERROR_STOP=1 -d "$db_url" -f "$root/deploy/postgres/append-only.sql"
    psql --no-psqlrc -X -q --no-password -d "$db_url" -c "SET client_min_messages = error" -c "ANALYZE" ;;
  sqlite://*)
    [ -f "$backup/db.sqlite3" ] || { echo "restore: $backup has no db.sqlite3 (not a SQLite backup)" >&2; exit 1; }
    sqlite_path=$("$python" -c 'import sys, environ; print(environ.Env.db_url_config(sys.argv[1])["NAME"])' "$db_url")
    if [ -s "$sqlite_path" ]; then echo "restore: $sqlite_path already exists" >&2; exit 1; fi
    mkdir -p "$(dirname "$sqlite_path")"
    cp "$backup/db.sqlite3" "$sqlite_path.restoring"
    mv "$sqlite_path.restoring" "$sqlite_path" ;;
  *) echo "restore: unsupported database URL scheme" >&2; exit 2 ;;
esac

if [ -f "$backup/uploads.tar.gz" ]; then
  mkdir -p "$upload_root"
  tar -C "$upload_root" --extract --gzip --file="$backup/uploads.tar.gz"
fi
echo "restore: $1 restored"
