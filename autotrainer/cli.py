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
from typer.core import TyperCommand, TyperGroup

from autotrainer import __version__
from autotrainer.config import Settings, load_settings
from autotrainer.errors import AutotrainerError


def _without_flag_placeholder(params: list[Any]) -> list[Any]:
    """Typer's help shows a `<bool>` value placeholder after every on/off flag, although a flag takes no value:
    an empty metavar shows none."""
    for param in params:
        if getattr(param, "is_bool_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class _Command(TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholder(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _without_flag_placeholder(super().get_params(ctx))


app = typer.Typer(
    cls=_Group,
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
SourceOption = typer.Option(None, "--source", help="'auto', 'mt5', 'sample' or a bar file (CSV/TXT/Parquet).")
SymbolOption = typer.Option(None, "--symbol", help="Symbol (default: setting 'symbol').")
TimeframeOption = typer.Option(None, "--timeframe", help="M1, M5, M15, M30, H1, H4 or D1.")
AllowStaleOption = typer.Option(False, "--allow-stale", help="Use bars older than 'max_bar_age_hours' (with a warning).")


# Each command's exit codes, shown at the end of its --help (one line each, so the help wraps them cleanly).
EXIT_CODES = {
    "retrain": "0 published; 1 internal error (the previous models stay active); 2 bad setting or data, or a "
               "feature that looks ahead (nothing trained or published); 3 candidate rejected (the previous models "
               "stay active); 4 skipped: too few bars; 5 another retrain or rollback holds the lock; 8 published "
               "(it IS live) but its run or event could not be recorded",
    "check": "0 nothing due, or the run published; with --run, otherwise the retrain's own code (see retrain "
             "--help); 2 bad setting or --now",
    "rollback": "0 restored (or listed); 2 refused: no such backup, or it does not verify (nothing changed); "
                "5 another retrain or rollback holds the lock; 8 restored (it IS live) but the event could not be "
                "recorded",
    "history": "0 shown; 2 bad setting, --since or --status",
    "auc": "0 OK; 2 no published model, or a bad setting or source; 6 WARNING (between the floor and "
           "min_auc_threshold); 7 BELOW FLOOR",
    "replay": "0 replayed; 2 bad setting, date, folder or data",
    "bars": "0 usable; 2 unusable (the reason is named); 4 fewer than min_bars",
    "audit": "0 clean; 2 a feature looks ahead or leaks the label, or a bad setting or source",
}


def _command(name: str) -> Any:
    """Register a command with its exit codes as the epilog of its help."""
    return app.command(name, cls=_Command, epilog=f"Exit codes: {EXIT_CODES[name]}.")


# This invocation's --home (set by the root callback) and whether the command prints JSON (set by _settings).
_INVOCATION: dict[str, Any] = {}


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr; under --json also an error object on stdout, so a script always gets JSON."""
    from autotrainer.logs import redacted

    message = redacted(message)
    if _INVOCATION.get("json"):
        _print_json({"error": message, "exit_code": code})
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Optional[Path], json_output: bool = False, **overrides: Any) -> Settings:
    """The settings of this invocation: --home and --config of the command line, then the usual layers."""
    _INVOCATION["json"] = json_output
    try:
        settings = load_settings(config, overrides, home=_INVOCATION.get("home"))
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)
    from autotrainer.logs import keep_secret

    keep_secret(settings.secrets())
    if str(settings.home) not in sys.path:
        sys.path.append(str(settings.home))  # feature plugins kept in the home folder import from any directory
    return settings


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(_redacted(data), indent=2, default=str))


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
    from autotrainer import logs as console

    _INVOCATION.clear()
    _INVOCATION["home"] = home
    console.configure(to_console=False)  # a fresh start: no handler of an earlier command in this process lingers


@_command("retrain")
def retrain(
    type: TrainingType = typer.Option(TrainingType.auto, "--type", metavar="<type>",  # the choices wrap in the help
                                      help="auto, initial, daily, weekend or emergency. auto = initial if nothing "
                                      "is published, weekend on Saturday/Sunday (WIB), daily otherwise."),
    source: Optional[str] = SourceOption,
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Use this many of the newest bars instead of the type's default."),
    symbol: Optional[str] = SymbolOption,
    timeframe: Optional[str] = TimeframeOption,
    allow_stale: bool = AllowStaleOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Run the retraining pipeline now and publish the result if it passes.
    """
    from autotrainer import logs as console
    from autotrainer.jobs.retrain import retrain as run_retrain, default_training_type

    settings = _settings(config, json_output, source=source, symbol=symbol, timeframe=timeframe,
                         allow_stale_data=allow_stale or None)
    console.configure(json_output=json_output, log_file=settings.log_file, command="retrain")
    training_type = default_training_type(settings) if type is TrainingType.auto else type.value
    try:
        outcome = run_retrain(settings, training_type=training_type, trigger="manual", bars=bars)
    except AutotrainerError as exc:  # the lock is taken: nothing ran, nothing to record
        _fail(str(exc), exc.exit_code)
    if json_output:
        _print_json(_outcome_json(outcome))
    raise typer.Exit(outcome.exit_code)


def _outcome_json(outcome: Any) -> dict[str, Any]:
    """A run's result as `retrain --json` and `check --run --json` print it."""
    return outcome.record.to_json() | {"exit_code": outcome.exit_code, "published": outcome.published,
                                       "top_features": dict(outcome.top_features),
                                       "regime_shares": outcome.regime_shares, "split": outcome.split}


@_command("check")
def check(
    run: bool = typer.Option(False, "--run", help="Perform the retrain when one is due."),
    now: Optional[str] = typer.Option(None, "--now", help="Decide as if it were this ISO time (no zone = WIB)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Decide whether a retrain is due (initial / daily / weekend / emergency) and why; --run performs it.

    When nothing is due it only looks: it imports no model library and creates no file or folder.
    """
    from autotrainer import logs as console
    from autotrainer.schedule import state as scheduler_state
    from autotrainer.schedule.policy import decide
    from autotrainer.timeutil import parse_wib, utc_now

    settings = _settings(config, json_output)
    log = console.configure(json_output=json_output, log_file=settings.log_file, command="check", read_only=True)
    try:
        moment = parse_wib(now) if now else utc_now()
    except ValueError:
        _fail(f"--now {now!r} is not an ISO time (e.g. 2026-11-24T05:00, WIB unless a zone is given)", 2)
    decision = decide(moment, scheduler_state.current(settings), settings)
    where = {"home": str(settings.home), "models_dir": str(settings.models_dir), "data_dir": str(settings.data_dir)}
    if not json_output:
        verdict = f"due: {decision.training_type} ({decision.bars} bars, {decision.rounds} rounds)" if decision.due else "not due"
        log.info("Check%s: %s — %s", f" at {now}" if now else "", verdict, decision.reason)
        log.info("Home: %s (models %s, data %s)", where["home"], where["models_dir"], where["data_dir"])
        if not decision.due:
            local = decision.to_json()["next_window_local"]
            log.info("Next window: %s (%s here)", decision.to_json()["next_window_wib"], local)
    if not (run and decision.due):
        if json_output:
            _print_json(decision.to_json() | where | {"run": None, "exit_code": 0})
        raise typer.Exit(0)
    from autotrainer.jobs.retrain import run_due

    console.configure(json_output=json_output, log_file=settings.log_file, command="check --run")
    try:
        outcome = run_due(settings, moment if now else None)
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)
    code = outcome.exit_code if outcome else 0
    if json_output:
        _print_json(decision.to_json() | where | {"run": _outcome_json(outcome) if outcome else None, "exit_code": code})
    raise typer.Exit(code)


@_command("rollback")
def rollback(
    reason: str = typer.Option("Manual rollback", "--reason", help="Why; kept in the history."),
    to: Optional[str] = typer.Option(None, "--to", help="Backup name, e.g. 20261124_050012 (default: the newest)."),
    list_only: bool = typer.Option(False, "--list", help="Show the backups and whether they verify; change nothing."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Restore a backed-up model pair (the replaced pair is backed up first, so a rollback can be undone).
    """
    from autotrainer import logs as console
    from autotrainer.report import tables as report
    from autotrainer.jobs import rollback as core

    settings = _settings(config, json_output)
    log = console.configure(json_output=json_output, log_file=settings.log_file, command="rollback", read_only=list_only)
    if list_only:
        backups = core.list_backups(settings)
        if json_output:
            _print_json([report.backup_json(b) for b in backups])
        else:
            out = _rich()
            out.print(report.backups_table(backups, settings.models_dir, out.width))
        raise typer.Exit(0)
    try:
        result = core.rollback(settings, reason, to)
    except AutotrainerError as exc:
        _fail(f"rollback refused: {exc}; nothing changed", exc.exit_code)
    if json_output:
        _print_json({"restored": result.restored.name, "run_id": result.restored.manifest["run_id"],
                     "replaced_backup": str(result.replaced_backup) if result.replaced_backup else None,
                     "replaced_run_id": (result.manifest_before or {}).get("run_id"), "reason": reason,
                     "warnings": result.warnings, "exit_code": result.exit_code})
    else:
        log.info("Rolled back to %s (run %s). Undo with: autotrainer rollback --to %s", result.restored.name,
                 result.restored.manifest["run_id"], result.replaced_backup.name if result.replaced_backup else "-")
    raise typer.Exit(result.exit_code)  # 8: rolled back (it IS live) but the event could not be recorded


@_command("history")
def history(
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="How many runs to show, newest first (default 10; "
                                        "1000 with --plot); events of the same period are interleaved."),
    type: Optional[str] = typer.Option(None, "--type", help="Only runs of this training type."),
    status: Optional[str] = typer.Option(None, "--status", help="Only runs with this outcome (published, rejected, "
                                         "failed, skipped, interrupted, running) or published AUC band (success, "
                                         "warning)."),
    since: Optional[str] = typer.Option(None, "--since", help="Only runs started at or after this time "
                                        "(ISO; without a zone it is WIB), e.g. 2026-11-20 or 2026-11-20T05:00."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
    csv_output: bool = typer.Option(False, "--csv", help="Print CSV on stdout."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also draw the runs' test AUC with its 95% interval over "
                                        "time, outcomes marked and thresholds drawn, into this PNG file."),
) -> None:
    """Past runs and model events, newest first, with a one-line summary. Only looks: creates nothing.
    """
    from autotrainer import logs as console
    from autotrainer.report import tables as report
    from autotrainer.history.service import History
    from autotrainer.timeutil import parse_wib

    settings = _settings(config, json_output)
    console.configure(json_output=json_output or csv_output)
    try:
        since_time = parse_wib(since) if since else None
    except ValueError:
        _fail(f"--since {since!r} is not an ISO date or time (e.g. 2026-11-20 or 2026-11-20T05:00)", 2)
    from autotrainer.history.words import STATUSES_OF_WORD

    if status is not None and status not in STATUSES_OF_WORD:
        _fail(f"--status {status!r} is not one of: {', '.join(STATUSES_OF_WORD)}", 2)
    store = History(settings, read_only=True)
    view = store.view(limit=limit or (1000 if plot else 10), training_type=type,
                      status=STATUSES_OF_WORD[status] if status else None, since=since_time)
    store.close()
    if plot is not None:
        report.plot_history(view, settings, plot)
    if json_output:
        _print_json(report.to_json(view))
    elif csv_output:
        typer.echo(report.to_csv(view), nl=False)
    else:
        out = _rich()
        if view.note:
            out.print(f"[yellow]{view.note}[/]")
        out.print(report.render_table(view, out.width))
        out.print(report.summary(view.runs))
        if plot is not None:
            out.print(f"Plot of {len(view.runs)} runs written to {plot}")


@_command("auc")
def auc(
    live: bool = typer.Option(False, "--live", help="Score the active model on bars that closed after its training data."),
    source: Optional[str] = SourceOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """The active model's AUC, signals and status; --live measures it on bars that closed after its training.
    """
    from autotrainer import logs as console
    from autotrainer.jobs import monitor
    from autotrainer.report import tables as report

    settings = _settings(config, json_output, source=source)
    console.configure(json_output=json_output, log_file=settings.log_file, command="auc", read_only=not live)
    try:
        result = monitor.report(settings, live=live)
    except AutotrainerError as exc:
        _fail(str(exc), exc.exit_code)
    if json_output:
        _print_json(report.auc_json(result, settings))
    else:
        _rich().print(report.auc_panel(result, settings))
    raise typer.Exit(result.exit_code)


@_command("replay")
def replay(
    source: Optional[str] = SourceOption,
    start: Optional[str] = typer.Option(None, "--from", help="Start of the replay (ISO date or time, WIB unless it "
                                        "has a zone); default: when the first retrain has all its bars."),
    end: Optional[str] = typer.Option(None, "--to", help="End of the replay (ISO, WIB); default: the last bar."),
    out: Optional[Path] = typer.Option(None, "--out", help="New or empty folder for the replay's models, history, "
                                       "log and report (default: a new replay-YYYYMMDD-HHMMSS folder here)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Replay the retraining policy over history against two baselines; write report.html with charts.
    """
    from autotrainer import logs as console
    from autotrainer.replay.simulate import default_out_dir, run_replay
    from autotrainer.report.replay_html import write_report
    from autotrainer.replay.summary import summarise
    from autotrainer.timeutil import parse_wib

    settings = _settings(config, json_output, source=source)
    console.configure(json_output=json_output, to_console=False)
    window = []
    for flag, text in (("--from", start), ("--to", end)):
        try:
            window.append(parse_wib(text) if text else None)
        except ValueError:
            _fail(f"{flag} {text!r} is not an ISO date or time (e.g. 2025-11-03 or 2025-11-03T05:00, WIB unless a "
                  f"zone is given)", 2)
    folder = out or default_out_dir()
    with _replay_progress(json_output) as progress:
        try:
            run = run_replay(settings, folder, window[0], window[1], progress)
        except AutotrainerError as exc:
            _fail(str(exc), exc.exit_code)
    summary = summarise(run)
    summary["report"] = str(write_report(run, summary))
    if json_output:
        _print_json(summary)
    else:
        from autotrainer.report.tables import replay_table

        _rich().print(replay_table(summary))


def _replay_progress(json_output: bool) -> Any:
    """A rich progress bar on a terminal; plain lines otherwise (cron, a redirected file)."""
    from contextlib import contextmanager

    from autotrainer.timeutil import wib_text

    stream = sys.stderr if json_output else sys.stdout

    @contextmanager
    def plain() -> Any:
        marks = set()

        def show(p: Any) -> None:
            if p.line:
                print(p.line, file=stream, flush=True)
            tenth = p.done * 10 // p.total
            if tenth not in marks:
                marks.add(tenth)
                print(f"replay {tenth * 10}% ({wib_text(p.now)})", file=stream, flush=True)

        yield show

    @contextmanager
    def bar() -> Any:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from autotrainer.logs import rich_console

        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                      TimeElapsedColumn(), console=rich_console(stream, highlight=False)) as progress:
            task = progress.add_task("replay", total=1)

            def show(p: Any) -> None:
                if p.line:
                    progress.console.print(p.line, markup=False)
                progress.update(task, total=p.total, completed=p.done, description=f"replay {wib_text(p.now)}")

            yield show

    return bar() if stream.isatty() else plain()


def _rich() -> Any:
    """A console for tables: the terminal's width, or COLUMNS (default 200) when output goes to a file."""
    import os

    from autotrainer.logs import rich_console

    if sys.stdout.isatty():
        return rich_console(highlight=False)
    columns = os.environ.get("COLUMNS", "")
    return rich_console(highlight=False, width=int(columns) if columns.isdigit() and int(columns) >= 40 else 200)


@_command("bars")
def bars(
    source: Optional[str] = SourceOption,
    count: Optional[int] = typer.Option(None, "--bars", min=1, help="Check this many of the newest bars (default: as many as the largest retrain uses)."),
    symbol: Optional[str] = SymbolOption,
    timeframe: Optional[str] = TimeframeOption,
    now: Optional[str] = typer.Option(None, "--now", help="Judge the bars' age as if it were this ISO time (no zone = WIB)."),
    allow_stale: bool = AllowStaleOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Read and check a source's bars exactly as a retrain would (layout, validation, gaps, clock, age); train nothing.
    """
    from autotrainer import logs as console
    from autotrainer.jobs.inspect_bars import inspect_bars
    from autotrainer.errors import EXIT_BAD_INPUT, EXIT_SKIPPED
    from autotrainer.timeutil import parse_wib, utc_now

    settings = _settings(config, json_output, source=source, symbol=symbol, timeframe=timeframe, allow_stale_data=allow_stale or None)
    try:
        moment = parse_wib(now) if now else utc_now()
    except ValueError:
        _fail(f"--now {now!r} is not an ISO time (e.g. 2026-02-11T05:00, WIB unless a zone is given)", EXIT_BAD_INPUT)
    console.configure(json_output=json_output, log_file=settings.log_file, command="bars", to_console=False,
                      read_only=True)
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


@_command("audit")
def audit(
    source: Optional[str] = SourceOption,
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Audit this many of the newest bars (default: a daily retrain's)."),
    features: Optional[str] = typer.Option(None, "--features", help="Feature functions to audit instead of setting "
                                           "'features': comma-separated 'package.module:function'."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Prove every feature causal (truncation test) and free of label leaks, as every retrain does.
    """
    from autotrainer.features.audit import run_audit
    from autotrainer.errors import EXIT_BAD_INPUT, EXIT_OK

    settings = _settings(config, json_output, source=source, features=features)
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
    from autotrainer.features.audit import LEAK_AUC

    ordered = sorted(report.columns, key=lambda c: c.ok)  # stable: keeps model order within each group
    rows = [(c.name, c.producer, "yes" if c.causal else "NO", "-" if c.auc is None else f"{c.auc:.3f}", c.why)
            for c in ordered]
    header = ("feature", "from", "causal", "AUC", "why")
    width = _plain_width()
    _echo_wrapped(f"Look-ahead audit of {len(report.columns)} features on {report.bars:,} bars "
                  f"({report.first_bar[:16]} to {report.last_bar[:16]} UTC): {report.scope} "
                  f"(a leak: above {LEAK_AUC} or below {1 - LEAK_AUC:.1f})", width)
    if sys.stdout.isatty():
        from rich.table import Table

        from autotrainer.logs import rich_console

        table = Table(*header)
        for row, column in zip(rows, ordered):
            table.add_row(*row, style=None if column.ok else "bold red")
        rich_console().print(table)
    else:
        _echo_columns([header, *rows], width)
    if report.clean:
        _echo_wrapped(f"CLEAN: {report.summary()}", width)
    else:
        _echo_wrapped(f"LEAK: {report.failure_message()}. A retrain with these features fails (exit 2) and "
                      f"publishes nothing.", width)


def _plain_width() -> int:
    """The width plain lines are fitted to: the terminal's, else COLUMNS when set, else 200 (a file has no width)."""
    import os
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) >= 40 else 200


def _echo_wrapped(text: str, width: int, indent: str = "") -> None:
    import textwrap

    for line in textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent or "  ",
                              break_long_words=False, break_on_hyphens=False):
        typer.echo(line)


MIN_NOTE = 30


def _echo_columns(rows: list[tuple[str, ...]], width: int) -> None:
    """Aligned columns, the last one wrapped within `width`: beside the others when it has room for
    MIN_NOTE characters, else on indented lines beneath its row."""
    import textwrap

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
            _echo_wrapped(row[-1], width, indent="    ")



def main() -> None:
    """Console-script entry point: a fault nobody foresaw still ends in one line and exit 1, not a traceback
    on the operator's screen (the traceback goes to the log file), and no character the console cannot show
    ends in one either."""
    import logging

    from autotrainer.logs import never_fail_on_encoding, redacted

    never_fail_on_encoding()
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
        logger = logging.getLogger("autotrainer")
        if logger.handlers:  # configured: the traceback reaches the log file, the console gets one line
            logger.exception("Unexpected error")
        message = redacted(f"unexpected {type(exc).__name__}: {exc} (details in the log file)")
        if "--json" in sys.argv[1:]:
            _print_json({"error": message, "exit_code": 1})
        typer.echo(f"error: {message}", err=True)
        sys.exit(1)
