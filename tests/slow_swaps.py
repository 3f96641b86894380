"""The autotrainer command with every file rename announced on stderr and slowed down a little.

Used by the crash test to SIGKILL a real process in the middle of its file swaps:
    python slow_swaps.py retrain --type daily
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from autotrainer import fsutil

_real_replace = fsutil.replace


def _announced(src: Path, dst: Path, attempts: int = 20) -> None:
    sys.stderr.write(f"SWAP {dst.name}\n")
    sys.stderr.flush()
    time.sleep(0.02)
    _real_replace(src, dst, attempts)


fsutil.replace = _announced

if __name__ == "__main__":
    from autotrainer.cli import main

    main()
