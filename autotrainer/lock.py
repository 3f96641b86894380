"""One retrain or rollback at a time, across processes: an OS file lock under `data_dir`.

filelock uses flock/fcntl on POSIX and msvcrt on Windows: the operating system drops the lock when its
holder dies, even by SIGKILL, so a crashed run never blocks the next one. Beside the lock, a small JSON
note says who holds it and since when, for the message a waiting process prints.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

from autotrainer.errors import LockedError
from autotrainer.timeutil import iso, utc_now, wib_text

LOCK_FILE = "autotrainer.lock"
HOLDER_FILE = "autotrainer.lock.json"
_LOCKS: dict[str, FileLock] = {}  # one object per path, so a process re-entering its own lock does not wait


def holder(data_dir: Path) -> str:
    """'pid 1234 on host (autotrainer retrain) since 2026-11-24 05:00 WIB', or 'unknown' if not recorded."""
    try:
        info = json.loads((data_dir / HOLDER_FILE).read_text(encoding="utf-8"))
        from datetime import datetime

        since = wib_text(datetime.fromisoformat(info["since"]), seconds=True)
        return f"pid {info['pid']} on {info['host']} ({info['command']}) since {since}"
    except (OSError, ValueError, KeyError):
        return "an unknown process"


@contextmanager
def run_lock(data_dir: Path, timeout_seconds: float, command: str | None = None) -> Iterator[None]:
    """Hold the run lock for the block (re-entrant within a process); LockedError (exit 5) naming the
    holder if another process keeps it longer than `timeout_seconds`."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = str((data_dir / LOCK_FILE).resolve())
    lock = _LOCKS.setdefault(path, FileLock(path))
    outermost = not lock.is_locked
    try:
        lock.acquire(timeout=timeout_seconds)
    except Timeout:
        raise LockedError(
            f"another retrain or rollback is running: {holder(data_dir)}; waited {timeout_seconds:g} s "
            "(setting 'lock_timeout_seconds')"
        ) from None
    try:
        if outermost:
            note = {"pid": os.getpid(), "host": socket.gethostname(), "since": iso(utc_now()),
                    "command": command or " ".join(["autotrainer", *sys.argv[1:2]])}
            (data_dir / HOLDER_FILE).write_text(json.dumps(note), encoding="utf-8")
        yield
    finally:
        if outermost:
            (data_dir / HOLDER_FILE).unlink(missing_ok=True)
        lock.release()
