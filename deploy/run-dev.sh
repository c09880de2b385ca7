#!/usr/bin/env bash
# `make run`: migrate, create roles and the demo admin, then the task worker and the web server.
# Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export DEBUG=${DEBUG:-1}

"$PY" manage.py migrate --noinput
"$PY" manage.py init_db --demo-admin

"$PY" manage.py db_worker --interval 0.5 &
worker=$!
trap 'kill $worker 2>/dev/null; wait $worker 2>/dev/null' EXIT INT TERM

echo
echo "Portal AGEPAR em http://127.0.0.1:${PORT:-8000}/  —  admin: /admin/  —  API docs: /api/docs/"
"$PY" manage.py runserver "127.0.0.1:${PORT:-8000}"
