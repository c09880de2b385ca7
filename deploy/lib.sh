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

s3copy() { "$python" "$root/deploy/s3copy.py" "$@"; }

# Unpack SOURCE into the empty folder DEST: a backup folder is copied as it is; an encrypted copy
# (a local FILE.tar.age, s3:NAME of the bucket, or s3:latest) is downloaded, decrypted with the age
# identity in BACKUP_AGE_IDENTITY_FILE and extracted, one stream, nothing decrypted on disk but DEST.
unpack_backup() {
  local source=$1 dest=$2 identity=${BACKUP_AGE_IDENTITY_FILE:-}
  if [ -d "$source" ]; then cp -a "$source/." "$dest/"; return; fi
  [ -n "$identity" ] || { echo "${0##*/}: BACKUP_AGE_IDENTITY_FILE is needed to decrypt $source" >&2; return 1; }
  [ -r "$identity" ] || { echo "${0##*/}: cannot read the age identity $identity" >&2; return 1; }
  case "$source" in
    s3:*)
      local name=${source#s3:}
      [ "$name" != latest ] || name=$(s3copy latest) || return 1
      echo "${0##*/}: restoring $name from the bucket" >&2
      s3copy get "$name" - | age --decrypt --identity "$identity" | tar -C "$dest" --extract ;;
    *.age)
      [ -f "$source" ] || { echo "${0##*/}: no file $source" >&2; return 1; }
      age --decrypt --identity "$identity" "$source" | tar -C "$dest" --extract ;;
    *) echo "${0##*/}: $source is neither a backup folder, a .tar.age file nor s3:NAME" >&2; return 1 ;;
  esac
}
