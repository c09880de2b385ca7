#!/usr/bin/env bash
# Apply deploy/postgres/roles.sql to one database, as a superuser.
#
#   ADMIN_DATABASE_URL=postgresql://postgres@db:5432/agepar \
#   AGEPAR_DB_OWNER_PASSWORD=... AGEPAR_DB_APP_PASSWORD=... \
#   deploy/postgres/apply-roles.sh [--owner agepar_owner] [--app agepar_app]
#
# ADMIN_DATABASE_URL (or ADMIN_DATABASE_URL_FILE) names the target database itself; create it
# first if needed (createdb / CREATE DATABASE). Passwords stay in the environment (psql's
# \getenv), never on a command line. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
help_if_asked "$@"

url=$(from_env ADMIN_DATABASE_URL)
[ -n "$url" ] || { echo "apply-roles: set ADMIN_DATABASE_URL to a superuser URL of the target database" >&2; exit 2; }

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --owner) args+=(-v "owner=$2"); shift 2 ;;
    --app) args+=(-v "app=$2"); shift 2 ;;
    *) echo "apply-roles: unknown argument $1" >&2; exit 2 ;;
  esac
done

exec psql --no-psqlrc --quiet -X -d "$url" "${args[@]}" -f "$here/roles.sql"
