"""Durable file operations shared by the model store, the history outbox and the state files.

`replace` retries briefly because on Windows a reader holding the destination (or a file inside a
directory being renamed) open makes the rename fail for a moment; `fsync_dir` makes a rename or a new
file survive a power cut on POSIX (NTFS journals the rename itself, and Windows cannot open directories).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

REPLACE_ATTEMPTS = 20
REPLACE_PAUSE_SECONDS = 0.05


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (new, renamed or removed files) to disk; a no-op on Windows."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace(src: Path, dst: Path, attempts: int = REPLACE_ATTEMPTS) -> None:
    """os.replace, retried for about a second while Windows reports the target in use."""
    for attempt in range(attempts):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(REPLACE_PAUSE_SECONDS)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file, fsync it, rename over `path`, fsync the directory."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    replace(tmp, path)
    fsync_dir(path.parent)
