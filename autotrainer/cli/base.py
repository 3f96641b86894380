"""What every command shares: the Typer app, the common options, this invocation's --home and --json, and
the one way a failure the core explains ends a command (its message, its exit code)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, TypeVar

import typer

from autotrainer import __version__, logs as console
from autotrainer.config import Settings
from autotrainer.errors import AutotrainerError
from autotrainer.jobs import session
from autotrainer.report.help import Command, Group, epilog
from autotrainer.report.plain import print_json
from autotrainer.settings import TRAINING_TYPES
from autotrainer.timeutil import parse_option

app = typer.Typer(cls=Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Keep a MetaTrader 5 gold bot's XGBoost and HMM models retrained, validated and safely published.")
T = TypeVar("T")
# `retrain --type`: 'auto' (the type default_training_type chooses) or one of the training types.
TrainingType = Enum("TrainingType", {name: name for name in ("auto", *TRAINING_TYPES)}, type=str)
ConfigOption = typer.Option(None, "--config", help="Settings file (default: ./autotrainer.toml if present).")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON on stdout (log lines go to stderr).")
SourceOption = typer.Option(None, "--source", help="'auto', 'mt5', 'sample' or a bar file (CSV/TXT/Parquet).")
SymbolOption = typer.Option(None, "--symbol", help="Symbol (default: setting 'symbol').")
TimeframeOption = typer.Option(None, "--timeframe", help="M1, M5, M15, M30, H1, H4 or D1.")
ServerTimezoneOption = typer.Option(None, "--server-timezone", help="The clock the bars are stamped in (default: "
                                    "setting 'server_timezone'), e.g. Europe/Athens, UTC or +03:00.")
AllowStaleOption = typer.Option(False, "--allow-stale", help="Use bars older than 'max_bar_age_hours' (with a warning).")


def command(name: str) -> Any:
    """Register a command with its exit codes as the epilog of its help."""
    return app.command(name, cls=Command, epilog=epilog(name))


# This invocation's --home (set by the root callback) and whether the command prints JSON (set by _settings).
INVOCATION: dict[str, Any] = {}


def fail(message: str, code: int) -> NoReturn:
    """One line on stderr; under --json also an error object on stdout, so a script always gets JSON."""
    message = console.redacted(message)
    if INVOCATION.get("json"):
        print_json({"error": message, "exit_code": code})
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_for(config: Optional[Path], json_output: bool = False, log: Optional[dict[str, Any]] = None,
              plugins: bool = True, **overrides: Any) -> Settings:
    """The settings of this invocation: --home and --config of the command line, then the usual layers; with
    `log`, the command's log lines are set up too (to its log file)."""
    INVOCATION["json"] = json_output
    settings = core(session.open_settings, config, overrides, INVOCATION.get("home"), plugins)
    if log is not None:
        console.configure(**{"json_output": json_output, "log_file": settings.log_file, **log})
    return settings


def core(function: Callable[..., T], *args: Any, refused: str = "{}", **kwargs: Any) -> T:
    """Call the core; a failure it explains ends the command: its message (framed by `refused`), its code."""
    try:
        return function(*args, **kwargs)
    except AutotrainerError as exc:
        fail(refused.format(exc), exc.exit_code)


def window_options(start: Optional[str], end: Optional[str]) -> list[Any]:
    """--from and --to of a replay as times (None where not given); a bad one ends the command (exit 2)."""
    example = "an ISO date or time (e.g. 2025-11-03 or 2025-11-03T05:00, WIB unless a zone is given)"
    return [core(parse_option, "--from", start, example), core(parse_option, "--to", end, example)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autotrainer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
    home: Optional[Path] = typer.Option(None, "--home", help="Folder that relative paths (models_dir, data_dir, "
                                        "log_file, source, autotrainer.toml) are resolved against; default: "
                                        "AUTOTRAINER_HOME, else the current directory."),
) -> None:
    """Keep a MetaTrader 5 gold bot's XGBoost and HMM models retrained, validated and safely published."""
    INVOCATION.clear()
    INVOCATION["home"] = home
    console.configure(to_console=False)  # a fresh start: no handler of an earlier command in this process lingers

