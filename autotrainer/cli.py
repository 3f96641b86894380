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
    source: Optional[str] = typer.Option(None, "--source", help="'sample' or a CSV/Parquet file path."),
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Use this many of the newest bars instead of the type's default."),
    symbol: Optional[str] = typer.Option(None, "--symbol", help="Symbol (default: setting 'symbol')."),
    timeframe: Optional[str] = typer.Option(None, "--timeframe", help="M1, M5, M15, M30, H1, H4 or D1."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Run the retraining pipeline now and publish the result if it passes."""
    from autotrainer import console
    from autotrainer.pipeline import retrain as run_retrain, default_training_type

    settings = _settings(config, source=source, symbol=symbol, timeframe=timeframe)
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
def audit(
    source: Optional[str] = typer.Option(None, "--source", help="'sample' or a CSV/Parquet file path."),
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Audit this many of the newest bars (default: a daily retrain's)."),
    features: Optional[str] = typer.Option(None, "--features", help="Feature functions to audit instead of setting "
                                           "'features': comma-separated 'package.module:function'."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Prove every feature causal (truncation test) and free of label leaks, as every retrain does; exit 2 on a leak."""
    from autotrainer.audit import run_audit
    from autotrainer.errors import EXIT_BAD_INPUT, EXIT_OK

    settings = _settings(config, source=source, features=features)
    try:
        report = run_audit(settings, bars)
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)
    if json_output:
        _print_json(report.to_dict())
    else:
        _render_audit(report)
    raise typer.Exit(EXIT_OK if report.clean else EXIT_BAD_INPUT)


def _render_audit(report: Any) -> None:
    """Problems first, then every other feature in model order; a rich table on a terminal, plain columns otherwise."""
    from autotrainer.audit import LEAK_AUC

    ordered = sorted(report.columns, key=lambda c: c.ok)  # stable: keeps model order within each group
    rows = [(c.name, c.producer, "yes" if c.causal else "NO", "-" if c.auc is None else f"{c.auc:.3f}", c.why)
            for c in ordered]
    header = ("feature", "from", "causal", "AUC", "why")
    typer.echo(f"Look-ahead audit of {len(report.columns)} features on {report.bars:,} bars "
               f"({report.first_bar[:16]} to {report.last_bar[:16]} UTC): prefixes at {len(report.cuts)} cut points, "
               f"single-feature AUC on {report.auc_rows:,} rows (a leak: above {LEAK_AUC} or below {1 - LEAK_AUC:.1f})")
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*header)
        for row, column in zip(rows, ordered):
            table.add_row(*row, style=None if column.ok else "bold red")
        Console().print(table)
    else:
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    if report.clean:
        typer.echo(f"CLEAN: {report.summary()}")
    else:
        typer.echo(f"LEAK: {report.failure_message()}. A retrain with these features fails (exit 2) and publishes nothing.")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
