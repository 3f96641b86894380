"""The `autotrainer` command: parse, call the core, render. No logic lives here.

Heavy modules (pandas, xgboost, hmmlearn, sklearn, talib, SQLAlchemy) are imported inside the functions
that need them, so `autotrainer check` answers fast when nothing is due.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn, Optional

import typer

from autotrainer import __version__
from autotrainer.config import Settings, load_settings
from autotrainer.errors import EXIT_UNEXPECTED, AutotrainerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Keep a MetaTrader 5 gold bot's XGBoost and HMM models retrained, validated and safely published.",
)


class TrainingType(str, Enum):
    auto = "auto"
    initial = "initial"
    daily = "daily"
    weekend = "weekend"
    emergency = "emergency"


ConfigOption = typer.Option(None, "--config", help="Settings file (default: ./autotrainer.toml if present).")
JsonOption = typer.Option(False, "--json", help="Print the result as JSON on stdout (log lines go to stderr).")
AllowStaleOption = typer.Option(False, "--allow-stale", help="Use bars older than 'max_bar_age_hours' (with a warning).")


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Optional[Path], **overrides: Any) -> Settings:
    try:
        return load_settings(config, overrides)
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autotrainer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """Keep a MetaTrader 5 gold bot's XGBoost and HMM models retrained, validated and safely published."""


@app.command()
def retrain(
    type: TrainingType = typer.Option(TrainingType.auto, "--type", help="auto = initial if nothing is published, "
                                      "weekend on Saturday/Sunday (WIB), daily otherwise."),
    source: Optional[str] = typer.Option(None, "--source", help="'mt5', 'sample', 'auto' or a bar file (CSV/TXT/Parquet)."),
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Use this many of the newest bars instead of the type's default."),
    symbol: Optional[str] = typer.Option(None, "--symbol", help="Symbol (default: setting 'symbol')."),
    timeframe: Optional[str] = typer.Option(None, "--timeframe", help="M1, M5, M15, M30, H1, H4 or D1."),
    allow_stale: bool = AllowStaleOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Run the retraining pipeline now and publish the result if it passes."""
    from autotrainer import console
    from autotrainer.pipeline import retrain as run_retrain, default_training_type

    settings = _settings(config, source=source, symbol=symbol, timeframe=timeframe,
                         allow_stale_data=allow_stale or None)
    console.configure(json_output=json_output)
    training_type = default_training_type(settings) if type is TrainingType.auto else type.value
    outcome = run_retrain(settings, training_type=training_type, trigger="manual", bars=bars)
    if json_output:
        _print_json(outcome.record.to_dict() | {"exit_code": outcome.exit_code, "published": outcome.published,
                                                "top_features": dict(outcome.top_features),
                                                "regime_shares": outcome.regime_shares, "split": outcome.split})
    raise typer.Exit(outcome.exit_code)


def _not_yet(command: str, issue: int) -> NoReturn:
    _fail(f"'autotrainer {command}' is not available in this version yet (planned in issue #{issue})", EXIT_UNEXPECTED)


@app.command()
def check(
    run: bool = typer.Option(False, "--run", help="Perform the retrain when one is due."),
    now: Optional[str] = typer.Option(None, "--now", help="Decide as if it were this ISO time."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Decide whether a retrain is due (initial / daily / weekend / emergency) and why."""
    _not_yet("check", 5)


@app.command()
def rollback(
    reason: str = typer.Option("Manual rollback", "--reason", help="Why; kept in the history."),
    to: Optional[str] = typer.Option(None, "--to", help="Backup name (default: the newest)."),
    config: Optional[Path] = ConfigOption,
) -> None:
    """Restore a backed-up model pair."""
    _not_yet("rollback", 6)


@app.command()
def history(
    limit: int = typer.Option(10, "--limit", min=1, help="How many runs to show."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Past runs and model events, newest first."""
    _not_yet("history", 4)


@app.command()
def auc(
    live: bool = typer.Option(False, "--live", help="Score the active model on bars that closed after its training data."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """The active model's AUC and status against the thresholds."""
    _not_yet("auc", 6)


@app.command()
def bars(
    source: Optional[str] = typer.Option(None, "--source", help="'mt5', 'sample', 'auto' or a bar file (CSV/TXT/Parquet)."),
    count: Optional[int] = typer.Option(None, "--bars", min=1, help="Check this many of the newest bars (default: as many as the largest retrain uses)."),
    symbol: Optional[str] = typer.Option(None, "--symbol", help="Symbol (default: setting 'symbol')."),
    timeframe: Optional[str] = typer.Option(None, "--timeframe", help="M1, M5, M15, M30, H1, H4 or D1."),
    now: Optional[str] = typer.Option(None, "--now", help="Judge the bars' age as if it were this ISO time."),
    allow_stale: bool = AllowStaleOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Read and check a source's bars exactly as a retrain would (layout, validation, gaps, clock, age); train nothing."""
    from datetime import datetime

    from autotrainer import console
    from autotrainer.bar_report import inspect_bars
    from autotrainer.errors import EXIT_BAD_INPUT, EXIT_SKIPPED
    from autotrainer.timeutil import as_utc, utc_now

    settings = _settings(config, source=source, symbol=symbol, timeframe=timeframe, allow_stale_data=allow_stale or None)
    try:
        moment = as_utc(datetime.fromisoformat(now)) if now else utc_now()
    except ValueError:
        _fail(f"--now {now!r} is not an ISO time like 2026-02-11T05:00+07:00", EXIT_BAD_INPUT)
    console.configure(json_output=json_output, quiet=True)
    try:
        report = inspect_bars(settings, count, moment)
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)
    if json_output:
        _print_json(report)
    else:
        typer.echo(f"{report['bars']} {report['symbol']} {report['timeframe']} bars from {report['origin']}")
        typer.echo(f"  {report['start_wib']} to {report['end_wib']} (server clock {report['server_clock']})")
        typer.echo(f"  newest bar: {report['newest_bar_age_market_hours']} market hours old"
                   + ("" if report["age_checked"] else " (not checked: the bundled sample is a fixed history)"))
        for line in report["notes"]:
            typer.echo(f"  {line}")
        for line in report["warnings"]:
            typer.echo(f"  WARNING {line}")
        if not report["enough_to_train"]:
            typer.echo(f"  too few bars to train: at least {settings.min_bars} are needed (setting 'min_bars')")
    raise typer.Exit(0 if report["enough_to_train"] else EXIT_SKIPPED)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
