# Sourced by the deploy scripts (not run on its own): where the project is, settings from the
# environment, and which python runs manage.py.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

from_env() {  # first non-empty of NAME / NAME_FILE (a file holding the value) for each name given
  local name file
  for name in "$@"; do
    if [ -n "${!name:-}" ]; then printf '%s' "${!name}"; return; fi
    file="${name}_FILE"
    if [ -n "${!file:-}" ]; then cat "${!file}"; return; fi
  done
}

# PYTHON, else the project's virtualenv, else python3 from PATH.
python=${PYTHON:-$( [ -x "$root/.venv/bin/python" ] && echo "$root/.venv/bin/python" || echo python3 )}

help_if_asked() {  # `-h`/`--help` first: print the calling script's header comment, do nothing else
  case "${1:-}" in -h|--help) ;; *) return 0 ;; esac
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0"
  exit 0
}
