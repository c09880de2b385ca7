#!/bin/sh
# One-shot setup of the compose stack (docker-compose.yml, service `setup`), idempotent:
#
#   deploy/compose-setup.sh CERT_DIR SECRETS_DIR HOST_NAME...
#
# - a self-signed certificate for nginx in CERT_DIR, unless a (real) one is already there;
# - SECRETS_DIR/secret_key: SECRET_KEY from the environment if set, else a random one made once
#   and kept (sessions and signed links survive restarts), readable by the app user only.
set -eu
case "${1:-}" in -h|--help|"") sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] && exit 0 || exit 2 ;; esac
cert_dir=$1 secrets_dir=$2; shift 2
"$(dirname "$0")/nginx/self-signed.sh" "$cert_dir" "$@"
mkdir -p "$secrets_dir"
key="$secrets_dir/secret_key"
umask 077
if [ -n "${SECRET_KEY:-}" ]; then
  printf '%s' "$SECRET_KEY" >"$key"
elif [ ! -s "$key" ]; then
  python -c 'import secrets; print(secrets.token_urlsafe(50))' >"$key"
fi
chown 10001 "$key" 2>/dev/null || true
echo "setup: certificate in $cert_dir, secret key in $key"
