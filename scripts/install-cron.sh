#!/usr/bin/env bash
# Install (or replace) the autotrainer crontab entries for the current user: `autotrainer check --run`
# every 15 minutes and `autotrainer auc --live` hourly, from this project directory, appending to logs/cron.log.
# Remove them again with:  crontab -l | grep -v -e 'autotrainer check --run' -e 'autotrainer auc --live' | crontab -
set -euo pipefail
project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
template="$(grep -v '^#' "$project_dir/cron/autotrainer.crontab")"
entries="${template//@PROJECT_DIR@/$project_dir}"
if [ ! -x "$project_dir/.venv/bin/autotrainer" ]; then
  echo "warning: $project_dir/.venv/bin/autotrainer does not exist yet; install the project first (see README)" >&2
fi
mkdir -p "$project_dir/logs"
{ crontab -l 2>/dev/null | grep -v -e 'autotrainer check --run' -e 'autotrainer auc --live' || true
  echo "$entries"; } | crontab -
echo "Installed crontab entries:"
echo "$entries" | sed 's/^/  /'
echo "Logs: $project_dir/logs/autotrainer.log (every run) and $project_dir/logs/cron.log (anything else cron saw)"
echo "Remove with: crontab -l | grep -v -e 'autotrainer check --run' -e 'autotrainer auc --live' | crontab -"
