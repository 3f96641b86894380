"""The autotrainer command, SIGKILLed by itself the moment it logs a line containing $KILL_AT_LOG.

Lets a test kill a real process at a precise point of a run (right after its "started" banner, right
after its publish) without timing anything:
    KILL_AT_LOG="Models published to" python kill_at.py retrain --type daily
"""

from __future__ import annotations

import logging
import os
import signal


class _KillOnLine(logging.Handler):
    """Added before the console handlers, so the process dies before the line is even printed."""

    def emit(self, record: logging.LogRecord) -> None:
        if os.environ["KILL_AT_LOG"] in record.getMessage():
            os.kill(os.getpid(), signal.SIGKILL)


logging.getLogger("autotrainer").addHandler(_KillOnLine())

if __name__ == "__main__":
    from autotrainer.cli import main

    main()
