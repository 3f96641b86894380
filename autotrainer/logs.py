"""Where run lines go: rich on a terminal, plain timestamped lines for cron, stderr when stdout is JSON.

Times in log lines are WIB, like the seed's log, whatever the host's own zone is.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from datetime import datetime, timezone
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any, Iterable, TextIO

from autotrainer.masking import redact
from autotrainer.timeutil import WIB

LOGGER = "autotrainer"
# This invocation's credentials (database URL, MetaTrader 5 account): no log line or error message shows them.
_SECRETS: set[str] = set()


def keep_secret(secrets: Iterable[str]) -> None:
    """The credentials of this invocation's settings, replacing an earlier invocation's."""
    _SECRETS.clear()
    _SECRETS.update(text for text in secrets if text)


def redacted(text: str) -> str:
    """`text` with this invocation's credentials shown as '***'."""
    return redact(text, _SECRETS)


class RedactSecrets(logging.Filter):
    """The last line of defence: a credential that reached a log record anyway (a driver's message, a
    traceback) is masked before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _SECRETS:
            record.msg, record.args = redacted(record.getMessage()), None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redacted(record.exc_text)
        return True


class WibFormatter(logging.Formatter):
    """'[2026-11-24 05:00:12 WIB] message' lines."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging API)
        return datetime.fromtimestamp(record.created, timezone.utc).astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S WIB")


class ConsoleFormatter(WibFormatter):
    """Console lines stay one line each: tracebacks go to the log file only."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def never_fail_on_encoding() -> None:
    """Make stdout and stderr escape a character their encoding lacks instead of raising.

    Redirected to a file or a pipe (Task Scheduler, .bat wrappers), Python on Windows writes in the ANSI code
    page, cp1252, which has no arrows, few symbols and no non-Latin names: with strict errors one such
    character in a path or a rollback reason would crash the command. It is written as \\u2192 instead.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
            stream.reconfigure(errors="backslashreplace")


def rich_console(stream: TextIO | None = None, **options: Any) -> Any:
    """A rich Console on `stream` (default stdout) that writes every character through the stream itself.

    On Windows rich treats stdout redirected to a file like a legacy console (its handle has no VT mode) and
    drives Win32 console calls against it; plain text through the stream is what a file needs.
    """
    from rich.console import Console

    target = stream or sys.stdout
    return Console(file=target, legacy_windows=None if target.isatty() else False, **options)


class RichLineHandler(logging.Handler):
    """Colour by level on an interactive terminal; the text is the same as the plain lines."""

    STYLES = {logging.WARNING: "yellow", logging.ERROR: "bold red", logging.CRITICAL: "bold red"}

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.console = rich_console(stream, highlight=False, soft_wrap=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = datetime.fromtimestamp(record.created, timezone.utc).astimezone(WIB).strftime("%H:%M:%S")
            style = self.STYLES.get(record.levelno, "")
            self.console.print(f"[dim]{stamp}[/dim] ", end="")
            self.console.print(record.getMessage(), style=style, markup=False)
        except Exception:  # logging must never take the run down
            self.handleError(record)


class CurrentStreamHandler(logging.StreamHandler):
    """Plain lines to whatever sys.stdout (or sys.stderr) is when a line is written, not when the handler was
    made: a caller that swaps the streams between commands (a test runner, an embedding program) never finds
    a line going to a stream it has closed."""

    def __init__(self, stream_name: str) -> None:
        self._stream_name = stream_name  # not `_name`: logging.Handler keeps the handler's own name there
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns one; the current one is used
        pass


LOG_BYTES = 2_000_000
LOG_BACKUPS = 5


_DEFERRED: list[str] = []  # warnings raised before the log was set up (settings load first), in order


def defer_warning(message: str) -> None:
    """A warning for the log of this command, printed once `configure` has set the log up."""
    if message not in _DEFERRED:
        _DEFERRED.append(message)


def drop_deferred() -> None:
    """Forget warnings not yet printed: each settings load starts with its own."""
    _DEFERRED.clear()


def configure(json_output: bool = False, log_file: str = "", command: str = "", to_console: bool = True,
              read_only: bool = False) -> logging.Logger:
    """Send the 'autotrainer' logger to the console (rich or plain) and to the rotating log file.

    A `read_only` command (one that only looks) logs to the file only when its folder already exists, so
    looking never creates anything. Idempotent per process, so tests and repeated calls never stack handlers.
    """
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for handler in list(logger.handlers):
        if getattr(handler, "_autotrainer_console", False):
            logger.removeHandler(handler)
            handler.close()
    if log_file and not (read_only and not Path(log_file).parent.is_dir()):
        add_file_handler(logger, Path(log_file), command)
    if to_console:
        logger.addHandler(_console_handler(json_output))
    while _DEFERRED and logger.handlers:
        logger.warning(_DEFERRED.pop(0))
    return logger


def _console_handler(json_output: bool) -> logging.Handler:
    """Rich lines on a terminal, plain lines otherwise; JSON commands keep stdout for their JSON."""
    stream = sys.stderr if json_output else sys.stdout
    handler: logging.Handler
    if stream.isatty():
        handler = RichLineHandler(stream)
    else:
        handler = CurrentStreamHandler("stderr" if json_output else "stdout")
        handler.setFormatter(ConsoleFormatter("[%(asctime)s] %(levelname)s %(message)s"))
    handler._autotrainer_console = True  # type: ignore[attr-defined]
    handler.addFilter(RedactSecrets())
    return handler


class SharedRotatingFileHandler(RotatingFileHandler):
    """A rotating log that several autotrainer processes append to at once, on Windows too.

    Windows refuses to rename a file that another process has open, so the stock handler's rollover fails
    while a second run (a scheduled check during a manual retrain) holds the log: it prints a traceback and
    drops that line and every later one. Here the file is open only while a line is written, so a rollover
    rarely meets it open, and every process's next line goes to the current file (POSIX too). A rollover that
    is refused anyway changes nothing - the log is moved aside before any backup is shifted - and the line is
    appended to the current file; the next line tries again. A backup shift refused after the move leaves the
    old lines in a `.rotating` file, which the next rollover shifts in first.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        finally:
            self._close_file()

    def doRollover(self) -> None:  # noqa: N802 (logging API)
        self._close_file()
        try:
            self._rotate()
        except OSError:  # the log or a backup is open in another process: keep appending, retry next line
            pass

    def _rotate(self) -> None:
        base = self.baseFilename
        for leftover in self._leftovers():  # a shift that failed before: its lines join the backups now
            self._shift_in(leftover)
        aside = f"{base}.{os.getpid()}.rotating"
        os.rename(base, aside)  # the step an open log blocks: it fails before any backup is touched
        self._shift_in(aside)

    def _shift_in(self, aside: str) -> None:
        """Make `aside` backup .1, the others one older; if a shift fails, the lines stay in `aside` and the
        next rollover (of any process) shifts them in."""
        base = self.baseFilename
        for number in range(self.backupCount - 1, 0, -1):
            if os.path.exists(f"{base}.{number}"):
                os.replace(f"{base}.{number}", f"{base}.{number + 1}")
        os.replace(aside, f"{base}.1")

    def _leftovers(self) -> list[str]:
        """Files set aside by a rollover whose shift failed: this process's, or a dead (or long gone) one's;
        never one another live process is shifting right now. Oldest first."""
        from autotrainer.fsutil import stale_temp

        base = Path(self.baseFilename)
        found = []
        for path in base.parent.glob(f"{base.name}.*.rotating"):
            pid = path.name[len(base.name) + 1:-len(".rotating")]
            if pid.isdigit() and (int(pid) == os.getpid() or stale_temp(path, int(pid))):
                found.append(path)
        return [str(p) for p in sorted(found, key=lambda p: p.stat().st_mtime)]

    def _close_file(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None  # type: ignore[assignment]


def add_file_handler(logger: logging.Logger, path: Path, command: str) -> logging.Handler | None:
    """Append the logger's lines to the rotating file at `path` (None, with a console warning, if unwritable)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.open("a", encoding="utf-8").close()  # the handler opens it per line: find out now if it cannot
    except OSError as exc:  # an unwritable log must not stop a retrain; say so on the console
        print(f"warning: cannot write log file {path}: {exc}", file=sys.stderr)
        return None
    handler = SharedRotatingFileHandler(path, LOG_BYTES, LOG_BACKUPS)
    tag = f" [{command}]" if command else ""
    handler.setFormatter(WibFormatter(f"[%(asctime)s] %(levelname)s pid %(process)d{tag} %(message)s"))
    handler._autotrainer_console = True  # type: ignore[attr-defined]
    handler.addFilter(RedactSecrets())
    logger.addHandler(handler)
    return handler
