"""Output fitted to where it goes: rich on a terminal, plain lines of a known width in a file or a pipe.

Also the `audit` report, which must read well both in a terminal and in a scheduler's log file.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from typing import Any, Callable

import typer

# The last column of a plain table sits beside the others when it has room for this many characters.
MIN_NOTE = 30


def _columns_setting() -> int:
    """COLUMNS when it names a usable width (40 or more), else 200: a file has no width of its own."""
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else 200


def table_console() -> Any:
    """A console for tables: the terminal's width, or COLUMNS (default 200) when output goes to a file."""
    from autotrainer.logs import rich_console

    if sys.stdout.isatty():
        return rich_console(highlight=False)
    return rich_console(highlight=False, width=_columns_setting())


def plain_width() -> int:
    """The width plain lines are fitted to: the terminal's, else COLUMNS when set, else 200."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return _columns_setting()


def echo_wrapped(text: str, width: int, indent: str = "") -> None:
    for line in textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent or "  ",
                              break_long_words=False, break_on_hyphens=False):
        typer.echo(line)


def echo_columns(rows: list[tuple[str, ...]], width: int) -> None:
    """Aligned columns, the last one wrapped within `width`: beside the others when it has room for
    MIN_NOTE characters, else on indented lines beneath its row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    facts_width = sum(widths) + 2 * len(widths)
    for row in rows:
        facts = "  ".join(cell.ljust(w) for cell, w in zip(row, widths))
        if width - facts_width >= MIN_NOTE:
            lines = textwrap.wrap(row[-1], width - facts_width, break_long_words=False) or [""]
            typer.echo(f"{facts}  {lines[0]}".rstrip())
            for line in lines[1:]:
                typer.echo(" " * facts_width + line)
        else:
            typer.echo(facts.rstrip())
            echo_wrapped(row[-1], width, indent="    ")


def print_audit(report: Any) -> None:
    """Problems first, then every other feature in model order; a rich table on a terminal, plain columns otherwise."""
    from autotrainer.features.audit import LEAK_AUC

    ordered = sorted(report.columns, key=lambda c: c.ok)  # stable: keeps model order within each group
    rows = [(c.name, c.producer, "yes" if c.causal else "NO", "-" if c.auc is None else f"{c.auc:.3f}", c.why)
            for c in ordered]
    header = ("feature", "from", "causal", "AUC", "why")
    width = plain_width()
    echo_wrapped(f"Look-ahead audit of {len(report.columns)} features on {report.bars:,} bars "
                 f"({report.first_bar[:16]} to {report.last_bar[:16]} UTC): {report.scope} "
                 f"(a leak: above {LEAK_AUC} or below {1 - LEAK_AUC:.1f})", width)
    if sys.stdout.isatty():
        _audit_table(header, rows, ordered)
    else:
        echo_columns([header, *rows], width)
    if report.clean:
        echo_wrapped(f"CLEAN: {report.summary()}", width)
    else:
        echo_wrapped(f"LEAK: {report.failure_message()}. A retrain with these features fails (exit 2) and "
                     f"publishes nothing.", width)


def _audit_table(header: tuple[str, ...], rows: list[tuple[str, ...]], ordered: list[Any]) -> None:
    from rich.table import Table

    from autotrainer.logs import rich_console

    table = Table(*header)
    for row, column in zip(rows, ordered):
        table.add_row(*row, style=None if column.ok else "bold red")
    rich_console().print(table)


def print_json(data: Any) -> None:
    """`data` as indented JSON on stdout, this invocation's credentials masked in every string."""
    import json

    typer.echo(json.dumps(_redacted(data), indent=2, default=str))


def show_result(json_output: bool, data: Callable[[], Any], text: Callable[[], Any] | None = None) -> None:
    """The result as JSON on stdout under --json, else as `text` renders it for people."""
    if json_output:
        print_json(data())
    elif text is not None:
        text()


def _redacted(data: Any) -> Any:
    """`data` with this invocation's credentials masked in every string (numbers stay numbers)."""
    from autotrainer.logs import redacted

    if isinstance(data, str):
        return redacted(data)
    if isinstance(data, dict):
        return {key: _redacted(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_redacted(value) for value in data]
    return data


def show_unexpected(exc: Exception, json_output: bool) -> None:
    """A fault nobody foresaw: its traceback to the log file (when one is set up), one masked line on the
    console, and under --json an error object too, so a script still gets JSON."""
    import logging

    from autotrainer.logs import LOGGER, redacted

    logger = logging.getLogger(LOGGER)
    if logger.handlers:  # configured: the traceback reaches the log file, the console gets one line
        logger.exception("Unexpected error")
    message = redacted(f"unexpected {type(exc).__name__}: {exc} (details in the log file)")
    if json_output:
        print_json({"error": message, "exit_code": 1})
    typer.echo(f"error: {message}", err=True)


def print_notify(answers: dict[str, str | None]) -> None:
    """`notify --test`: one line per channel, or how to set one up."""
    import typer

    if not answers:
        typer.echo("No notification channel is set up: set TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID (as the bot "
                   "does), or list Apprise URLs in the setting 'notify_urls'.")
    for channel, problem in answers.items():
        typer.echo(f"{channel}: {'sent' if problem is None else 'NOT sent - ' + problem}")
