"""Append-only JSON-lines files that survive crashes: the history outbox and the file-only history.

Each entry is one line `{"table": ..., "row": {...}}`, appended under a file lock, flushed and fsynced
before `append` returns. The outbox is drained by *claiming* it: under the lock it is renamed aside, so
entries written while a replay runs land in a fresh outbox and are never lost; a claimed file is deleted
only after its rows are committed, and a claimed file left by a crash is replayed again first.
Rows carry their own unique key, so replaying twice never duplicates anything.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

LOCK_TIMEOUT_SECONDS = 30


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path.with_name(path.name + ".lock")), timeout=LOCK_TIMEOUT_SECONDS)

    def append(self, table: str, row: dict[str, Any]) -> None:
        line = json.dumps({"table": table, "row": row}, default=str)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def pending(self) -> bool:
        return self.path.exists() or bool(self._claimed())

    def _claimed(self) -> list[Path]:
        if not self.path.parent.is_dir():
            return []
        prefix = self.path.stem + ".replaying-"
        return sorted(p for p in self.path.parent.iterdir() if p.name.startswith(prefix))

    def claim(self) -> list[Path]:
        """Files to replay, oldest first: earlier claims left by a crash, then the current outbox."""
        with self._lock:
            if self.path.exists():
                target = self.path.with_name(f"{self.path.stem}.replaying-{time.time_ns():020d}{self.path.suffix}")
                os.replace(self.path, target)
            return self._claimed()

    def entries(self, paths: list[Path] | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """(table, row) pairs in write order; a torn last line from a crash is skipped."""
        for path in paths if paths is not None else [*self._claimed(), self.path]:
            try:
                fh = path.open(encoding="utf-8")
            except FileNotFoundError:
                continue
            with fh:
                for line in fh:
                    try:
                        entry = json.loads(line)
                        yield entry["table"], entry["row"]
                    except (json.JSONDecodeError, KeyError, TypeError):
                        continue

    @staticmethod
    def done(path: Path) -> None:
        path.unlink(missing_ok=True)
