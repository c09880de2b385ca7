#!/bin/sh
# Make a self-signed certificate for local use, unless one is already there.
#
#   deploy/nginx/self-signed.sh CERT_DIR [HOST_NAME...]
#
# Writes CERT_DIR/fullchain.pem and CERT_DIR/privkey.pem (what deploy/nginx/templates expects),
# valid 825 days for the given names (default: localhost) and 127.0.0.1. An existing pair is
# kept, so a real certificate mounted there is never overwritten. For production, mount your
# CA-issued fullchain.pem/privkey.pem instead (docs/operations.md, "TLS").
set -eu
case "${1:-}" in
  -h|--help|"") sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ] && exit 0 || exit 2 ;;
esac
dir=$1; shift
[ $# -gt 0 ] || set -- localhost
if [ -s "$dir/fullchain.pem" ] && [ -s "$dir/privkey.pem" ]; then
  echo "self-signed: $dir already has a certificate; kept"
  exit 0
fi
mkdir -p "$dir"
san="IP:127.0.0.1"
for name in "$@"; do san="$san,DNS:$name"; done
umask 077
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 825 -subj "/CN=$1" \
  -addext "subjectAltName=$san" -keyout "$dir/privkey.pem.tmp" -out "$dir/fullchain.pem.tmp" 2>/dev/null
chmod 644 "$dir/fullchain.pem.tmp"
mv "$dir/privkey.pem.tmp" "$dir/privkey.pem"
mv "$dir/fullchain.pem.tmp" "$dir/fullchain.pem"
echo "self-signed: certificate for $* in $dir"
