#!/usr/bin/env bash
# `make run`: migrate, create roles and the demo admin, then the task worker, the stale-run reaper
# and the web server. Ctrl-C stops them all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"
cd "$root"
PY=${PY:-.venv/bin/python}
export DEBUG=${DEBUG:-1}
# Local state lives in VAR_DIR (settings default: var/ of the checkout): the SQLite file, uploads and
# the development secret key, made once here (the settings only read it) and never committed.
export VAR_DIR=${VAR_DIR:-var}
mkdir -p "$VAR_DIR"
[ -s "$VAR_DIR/dev-secret-key" ] ||
  (umask 077 && "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$VAR_DIR/dev-secret-key")

"$PY" manage.py migrate --noinput
"$PY" manage.py init_db --demo-admin

"$PY" manage.py db_worker --interval 0.5 &
worker=$!
# Puts back in the queue the submissions of a worker that died mid-run (expired lease).
"$PY" manage.py requeue_stale --every 30 &
reaper=$!
trap 'kill $worker $reaper 2>/dev/null; wait $worker $reaper 2>/dev/null' EXIT INT TERM

echo
echo "Portal AGEPAR em http://127.0.0.1:${PORT:-8000}/  —  admin: /admin/  —  API docs: /api/docs/"
"$PY" manage.py runserver "127.0.0.1:${PORT:-8000}"
