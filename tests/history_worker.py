"""A separate process for the history tests: `record PREFIX COUNT` runs, or `replay` the outbox.

    python history_worker.py DATA_DIR DATABASE_URL record PREFIX COUNT
    python history_worker.py DATA_DIR DATABASE_URL replay
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone

from autotrainer.config import load_settings
from autotrainer.history.records import RunRecord
from autotrainer.history.service import History


def main() -> None:
    data_dir, url, mode = sys.argv[1:4]
    settings = load_settings(None, {"data_dir": data_dir, "database_url": url}, env={})
    history = History(settings)
    if mode == "record":
        prefix, count = sys.argv[4], int(sys.argv[5])
        start = datetime(2026, 11, 24, tzinfo=timezone.utc)
        for i in range(count):
            record = RunRecord(run_id=f"{prefix}-{i:04d}", started_at=(start + timedelta(minutes=i)).isoformat())
            history.start_run(record)
            record.status, record.success, record.completed_at = "success", True, record.started_at
            history.finish_run(record)
    else:
        history.drain_outbox()
    history.close()
    print("warnings:", history.warnings)


if __name__ == "__main__":
    main()
