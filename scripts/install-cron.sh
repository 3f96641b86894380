#!/usr/bin/env bash
# Install (or replace) the autotrainer crontab entry for the current user: `autotrainer check --run`
# every 15 minutes from this project directory, appending to logs/cron.log.
# Remove it again with:  crontab -l | grep -v 'autotrainer check --run' | crontab -
set -euo pipefail
project_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
template="$(grep -v '^#' "$project_dir/cron/autotrainer.crontab")"
entry="${template//@PROJECT_DIR@/$project_dir}"
if [ ! -x "$project_dir/.venv/bin/autotrainer" ]; then
  echo "warning: $project_dir/.venv/bin/autotrainer does not exist yet; install the project first (see README)" >&2
fi
mkdir -p "$project_dir/logs"
{ crontab -l 2>/dev/null | grep -v 'autotrainer check --run' || true; echo "$entry"; } | crontab -
echo "Installed crontab entry:"
echo "  $entry"
echo "Logs: $project_dir/logs/autotrainer.log (every run) and $project_dir/logs/cron.log (anything else cron saw)"
echo "Remove with: crontab -l | grep -v 'autotrainer check --run' | crontab -"
