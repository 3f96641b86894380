"""Append-only JSON-lines files that survive crashes: the history outbox and the file-only history.

Each entry is one line `{"table": ..., "row": {...}}`, appended under a file lock, flushed and fsynced
before `append` returns (with its directory, when the append created the file). A line cut short by a crash
is ended before the next append, so it costs only itself; reading reports it by file and line, because it
is a lost record an operator should hear about.

The outbox is drained by *claiming* it: under the lock it is renamed aside, so entries written while a
replay runs land in a fresh outbox and are never lost; a claimed file is deleted only after its rows are
committed, and a claimed file left by a crash is replayed again first. One process drains at a time (a
second lock, held from claim to delete): two drainers could both apply the same claimed file, the slower one
last, and put a run's older snapshot back over the newer one written in between. Rows carry their own
unique key, so replaying twice never duplicates anything.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from filelock import FileLock, Timeout

from autotrainer.fsutil import fsync_dir, remove, replace

LOCK_TIMEOUT_SECONDS = 30
EXCERPT_CHARS = 200
Entry = tuple[str, dict[str, Any]]

log = logging.getLogger("autotrainer")


def append_line(path: Path, line: str) -> None:
    """Append `line` durably. If the file's last line was cut short by a crash (no final newline), end it
    first: otherwise this line would be glued onto it and become unreadable with it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    created = not path.exists()
    data = line.encode("utf-8") + b"\n"
    with path.open("a+b") as fh:
        if fh.seek(0, os.SEEK_END) > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                data = b"\n" + data
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    if created:
        fsync_dir(path.parent)


class Journal:
    """One JSON-lines file; `warn` is told about each line that is not a whole entry."""

    def __init__(self, path: Path, warn: Callable[[str], None] = log.warning) -> None:
        self.path = path
        self.warn = warn
        self._lock = FileLock(str(path.with_name(path.name + ".lock")), timeout=LOCK_TIMEOUT_SECONDS)
        self._drain_lock = FileLock(str(path.with_name(path.name + ".replay.lock")))

    def append(self, table: str, row: dict[str, Any]) -> None:
        """Add one entry; it is on disk when this returns."""
        line = json.dumps({"table": table, "row": row}, default=str)
        with self._lock:
            append_line(self.path, line)

    def pending(self) -> bool:
        """Whether anything is queued: the file itself, or claimed files not yet deleted by a replay."""
        return self.path.exists() or bool(self._claimed())

    def _claimed(self) -> list[Path]:
        if not self.path.parent.is_dir():
            return []
        prefix = self.path.stem + ".replaying-"
        return sorted(p for p in self.path.parent.iterdir() if p.name.startswith(prefix))

    def drain(self, apply: Callable[[list[Entry]], bool], wait: bool = True) -> bool:
        """Hand the queued entries to `apply`, one file at a time in write order, deleting each file once
        `apply` says its rows are committed; True when nothing is left queued. If `apply` returns False, the
        file and the rest stay queued. If another process is draining, wait for it (at most
        LOCK_TIMEOUT_SECONDS), or with wait=False return at once: that drainer looks at the outbox again
        after it lets go, so what was queued meanwhile is not left behind."""
        while self.pending():
            try:
                self._drain_lock.acquire(timeout=LOCK_TIMEOUT_SECONDS if wait else 0)
            except Timeout:
                return False
            try:
                while paths := self._claim():
                    for path in paths:
                        if not apply(list(self.entries([path]))):
                            return False
                        remove(path)  # retried: on Windows a reader may hold it open for a moment
                        fsync_dir(path.parent)
            finally:
                self._drain_lock.release()
        return True

    def _claim(self) -> list[Path]:
        """Files to replay, oldest first: earlier claims left by a crash, then the current outbox."""
        with self._lock:
            if self.path.exists():
                target = self.path.with_name(f"{self.path.stem}.replaying-{time.time_ns():020d}{self.path.suffix}")
                replace(self.path, target)
                fsync_dir(self.path.parent)
            return self._claimed()

    def entries(self, paths: list[Path] | None = None) -> Iterator[Entry]:
        """(table, row) pairs in write order; a line that is not a whole entry is reported and skipped."""
        for path in paths if paths is not None else [*self._claimed(), self.path]:
            try:
                fh = path.open(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            with fh:
                for number, line in enumerate(fh, start=1):
                    if not line.strip():
                        continue
                    try:
                        entry = json.loads(line)
                        yield entry["table"], entry["row"]
                    except (json.JSONDecodeError, KeyError, TypeError, RecursionError):  # nested past reading
                        self.warn(f"{path} line {number} is not a complete record and was skipped (a write cut "
                                  f"short by a crash?): {line.strip()[:EXCERPT_CHARS]!r}")
