#!/usr/bin/env bash
# Run one manage.py command as the owner (migrator) PostgreSQL role:
#
#   MIGRATE_DATABASE_URL=postgresql://agepar_owner:...@db:5432/agepar deploy/as-migrator.sh migrate --noinput
#   deploy/as-migrator.sh run_maintenance
#
# The web server and the worker use DATABASE_URL (the app role: no DDL, no rewriting the audit
# trail). Schema changes and retention (migrate, prune_audits, run_maintenance) need the owner,
# so this runs them with DATABASE_URL replaced by MIGRATE_DATABASE_URL (or MIGRATE_DATABASE_URL_FILE).
# Without either, the command runs with DATABASE_URL unchanged (SQLite, or one role for everything).
# A one-shot command needs no connection pool.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"
cd "$root"

url=$(from_env MIGRATE_DATABASE_URL)
if [ -n "$url" ]; then
  export DATABASE_URL="$url"
  unset DATABASE_URL_FILE
fi
export DB_POOL=0

exec "$python" manage.py "$@"
