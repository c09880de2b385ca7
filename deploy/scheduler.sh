#!/usr/bin/env bash
# The compose stack's scheduler (docker-compose.yml, service `scheduler`): instead of cron.
#
#   deploy/scheduler.sh
#
# Every hour: run_maintenance -v 0 as the owner role (prints only failures). Every day at
# BACKUP_HOUR (UTC, default 3): deploy/backup.sh. Every month, on RESTORE_TEST_DAY (default 1)
# after the backup: deploy/restore-test.sh (the latest copy into a scratch database; needs
# RESTORE_TEST_ADMIN_DATABASE_URL on PostgreSQL). A failing job is logged and retried next
# time (the restore test next month); the loop itself never stops. Without Docker, use the
# systemd timers in deploy/systemd/ instead.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
help_if_asked "$@"
here=$(cd "$(dirname "$0")" && pwd)
backup_hour=${BACKUP_HOUR:-3}
restore_test_day=${RESTORE_TEST_DAY:-1}
last_hour="" last_day="" last_month=""

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
    if [ "$(date -u +%Y%m)" != "$last_month" ] && [ "$((10#$(date -u +%d)))" -eq "$restore_test_day" ]; then
      run "$here/restore-test.sh"
      last_month=$(date -u +%Y%m)
    fi
  fi
  sleep 60
done
