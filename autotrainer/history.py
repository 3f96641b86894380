"""Run records: one per run (published, rolled back, skipped or failed), never lost.

The record's fields map 1:1 to the seed's `training_runs` columns, plus what an operator needs on top.
Each finished record is appended, flushed and fsynced, to `data_dir/training_runs.jsonl`, and the seed's
`retrain_history.txt` gets its timestamp line.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

from autotrainer import __version__
from autotrainer.timeutil import wib_iso

RUNS_FILE = "training_runs.jsonl"
SEED_HISTORY_FILE = "retrain_history.txt"
PUBLISHED_STATUSES = ("success", "warning")


@dataclass
class RunRecord:
    """One training run. The first block is the seed's `training_runs` columns, in order."""

    id: int | None = None
    training_type: str = "daily"
    bars_used: int | None = None
    num_boost_rounds: int | None = None
    started_at: str | None = None
    completed_at: str | None = None
    duration_seconds: float | None = None
    hmm_trained: bool = False
    xgb_trained: bool = False
    train_auc: float | None = None
    test_auc: float | None = None
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    model_path: str | None = None
    backup_path: str | None = None
    success: bool = False
    error_message: str | None = None
    # What an operator needs on top of the seed.
    run_id: str = ""
    status: str = "running"  # running, success, warning, rolled_back, skipped, failed, interrupted
    trigger: str = "manual"
    reason: str = ""
    symbol: str = ""
    timeframe: str = ""
    source: str = ""
    data_start: str | None = None
    data_end: str | None = None
    data_fingerprint: str | None = None
    feature_count: int | None = None
    validation_auc: float | None = None
    test_auc_low: float | None = None
    test_auc_high: float | None = None
    best_iteration: int | None = None
    champion_auc: float | None = None
    manifest_sha256: str | None = None
    warnings: list[str] = field(default_factory=list)
    host: str = field(default_factory=socket.gethostname)
    tool_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunRecord":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def append_line(path: Path, line: str) -> None:
    """Append one line and make it durable before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line.rstrip("\n") + "\n")
        fh.flush()
        os.fsync(fh.fileno())


class FileHistory:
    """History kept in `data_dir`: the JSON-lines run log and the seed's retrain_history.txt."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def record(self, run: RunRecord) -> None:
        append_line(self.data_dir / RUNS_FILE, json.dumps(run.to_dict(), sort_keys=False))
        if run.completed_at:
            append_line(self.data_dir / SEED_HISTORY_FILE, wib_iso(run.completed_at))

    def runs(self) -> Iterator[RunRecord]:
        """Recorded runs, oldest first (a torn last line from a crash is skipped)."""
        path = self.data_dir / RUNS_FILE
        if not path.exists():
            return
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield RunRecord.from_dict(json.loads(line))
                except (json.JSONDecodeError, TypeError):
                    continue
