"""Durable file operations shared by the model store, the history outbox and the state files.

`replace` and `remove` retry briefly because on Windows a reader holding the file (or a file inside a
directory being renamed) open makes the rename or delete fail for a moment; `fsync_dir` makes a rename or a
new file survive a power cut on POSIX (NTFS journals the rename itself, and Windows cannot open directories).
`remove_stale_temps` clears the temp files of writes cut short by a kill.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Callable

REPLACE_ATTEMPTS = 20
REPLACE_PAUSE_SECONDS = 0.05
# A temp file this old is no write in progress (a write takes milliseconds), whoever's pid it carries.
STALE_TEMP_SECONDS = 3600
TEMP_NAME = re.compile(r"^\..+\.tmp-(\d+)$")  # write_atomic's `.<name>.tmp-<pid>`


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
    _retried(lambda: os.replace(src, dst), attempts)


def remove(path: Path, attempts: int = REPLACE_ATTEMPTS) -> None:
    """Delete `path` if it exists, retried for about a second while Windows reports it in use (a reader
    holding it open makes the delete fail for a moment)."""

    def delete() -> None:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass

    _retried(delete, attempts)


def _retried(operation: Callable[[], None], attempts: int) -> None:
    for attempt in range(attempts):
        try:
            operation()
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


def remove_stale_temps(*directories: Path) -> list[Path]:
    """Delete the temp files write_atomic left in `directories` when its process was killed mid-write; the
    caller holds the run lock. A temp file is stale when its process is gone or it is older than
    STALE_TEMP_SECONDS; one of a live process that young is a write in progress and stays. Returns what went."""
    removed = []
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            match = TEMP_NAME.match(path.name)
            if match and path.is_file() and stale_temp(path, int(match.group(1))):
                try:
                    remove(path)
                except OSError:
                    continue  # the next run tries again
                removed.append(path)
    if removed:
        logging.getLogger("autotrainer").info("Removed %d temp file(s) left by killed writes: %s", len(removed),
                                              ", ".join(str(p) for p in removed))
    return removed


def stale_temp(path: Path, pid: int) -> bool:
    """Whether a temp file written by process `pid` is left over: its process is gone, or it is too old to be
    a write in progress (False when it is already gone)."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    return age > STALE_TEMP_SECONDS or (pid != os.getpid() and not _alive(pid))


def _alive(pid: int) -> bool:
    """Whether process `pid` exists. On Windows there is no harmless probe in the standard library
    (os.kill there terminates), so every pid counts as alive and only age makes a temp file stale."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
