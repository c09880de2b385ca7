#!/usr/bin/env bash
# The compose stack's scheduler (docker-compose.yml, service `scheduler`): instead of cron.
#
#   deploy/scheduler.sh
#
# Every hour: run_maintenance -v 0 as the owner role (prints only failures). Every day at
# BACKUP_HOUR (UTC, default 3): deploy/backup.sh. A failing job is logged and retried next
# time; the loop itself never stops. Without Docker, use the systemd timers in deploy/systemd/ instead.
set -uo pipefail
case "${1:-}" in -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
backup_hour=${BACKUP_HOUR:-3}
last_hour="" last_day=""

run() {
  echo "scheduler: $(date -u +%FT%TZ) $*"
  "$@" || echo "scheduler: FAILED ($?): $*" >&2
}

while true; do
  hour=$(date -u +%Y%m%d%H) day=$(date -u +%Y%m%d)
  if [ "$hour" != "$last_hour" ]; then
    run "$here/as-migrator.sh" run_maintenance -v 0
    last_hour=$hour
  fi
  if [ "$day" != "$last_day" ] && [ "$((10#$(date -u +%H)))" -ge "$backup_hour" ]; then
    run "$here/backup.sh"
    last_day=$day
  fi
  sleep 60
done
