"""The `autotrainer` command: each command parses its options, calls one function of the core (jobs/,
replay/) and renders the result through report/. No logic lives here. Heavy modules (pandas, xgboost, hmmlearn,
sklearn, talib, SQLAlchemy) load inside the functions that need them: `check` answers fast when nothing is due.
"""

from __future__ import annotations

import sys

import typer

from autotrainer import logs as console
from autotrainer.cli import commands, replay  # registers the commands on the app
from autotrainer.cli.base import app
from autotrainer.report.plain import show_unexpected

__all__ = ["app", "commands", "main", "replay"]


def main() -> None:
    """Console-script entry point: a fault nobody foresaw still ends in one line and exit 1, not a traceback
    on the operator's screen (the traceback goes to the log file), and no character the console cannot show
    ends in one either."""
    console.never_fail_on_encoding()
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `autotrainer history | head`: the reader left; nothing went wrong here
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        show_unexpected(exc, "--json" in sys.argv[1:])
        sys.exit(1)
