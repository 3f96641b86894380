"""The `autotrainer` command: each command parses its options, calls one function of the core (jobs/,
replay/) and renders the result through report/. No logic lives here. Heavy modules (pandas, xgboost, hmmlearn,
sklearn, talib, SQLAlchemy) load inside the functions that need them: `check` answers fast when nothing is due.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, TypeVar

import typer

from autotrainer import __version__, logs as console
from autotrainer.config import Settings
from autotrainer.errors import AutotrainerError
from autotrainer.jobs import (
    announce,
    check as check_job,
    exit_codes,
    monitor,
    past_runs,
    rollback as rollback_job,
    session,
)
from autotrainer.report import auc as auc_report, results, tables
from autotrainer.report.help import Command, Group, epilog
from autotrainer.report.plain import print_audit, print_json, print_notify, show_result, show_unexpected, table_console
from autotrainer.settings import TRAINING_TYPES
from autotrainer.timeutil import parse_option, utc_now

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


def _command(name: str) -> Any:
    """Register a command with its exit codes as the epilog of its help."""
    return app.command(name, cls=Command, epilog=epilog(name))


# This invocation's --home (set by the root callback) and whether the command prints JSON (set by _settings).
_INVOCATION: dict[str, Any] = {}


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr; under --json also an error object on stdout, so a script always gets JSON."""
    message = console.redacted(message)
    if _INVOCATION.get("json"):
        print_json({"error": message, "exit_code": code})
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _settings(config: Optional[Path], json_output: bool = False, log: Optional[dict[str, Any]] = None,
              plugins: bool = True, **overrides: Any) -> Settings:
    """The settings of this invocation: --home and --config of the command line, then the usual layers; with
    `log`, the command's log lines are set up too (to its log file)."""
    _INVOCATION["json"] = json_output
    settings = _core(session.open_settings, config, overrides, _INVOCATION.get("home"), plugins)
    if log is not None:
        console.configure(**{"json_output": json_output, "log_file": settings.log_file, **log})
    return settings


def _core(function: Callable[..., T], *args: Any, refused: str = "{}", **kwargs: Any) -> T:
    """Call the core; a failure it explains ends the command: its message (framed by `refused`), its code."""
    try:
        return function(*args, **kwargs)
    except AutotrainerError as exc:
        _fail(refused.format(exc), exc.exit_code)


def _window_options(start: Optional[str], end: Optional[str]) -> list[Any]:
    """--from and --to of a replay as times (None where not given); a bad one ends the command (exit 2)."""
    example = "an ISO date or time (e.g. 2025-11-03 or 2025-11-03T05:00, WIB unless a zone is given)"
    return [_core(parse_option, "--from", start, example), _core(parse_option, "--to", end, example)]


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
    force: bool = typer.Option(False, "--force", help="Train even when the bars, settings and code are those of "
                               "the last trained run (otherwise skipped: it would give the same model)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Run the retraining pipeline now and publish the result if it passes."""
    from autotrainer.jobs.retrain import retrain_now

    settings = _settings(config, json_output, {"command": "retrain"}, source=source, symbol=symbol,
                         timeframe=timeframe, allow_stale_data=allow_stale or None)
    outcome = _core(retrain_now, settings, type.value, bars, force)  # LockedError: nothing ran, nothing to record
    show_result(json_output, lambda: results.outcome_json(outcome))
    raise typer.Exit(outcome.exit_code)


@_command("check")
def check(
    run: bool = typer.Option(False, "--run", help="Perform the retrain when one is due."),
    now: Optional[str] = typer.Option(None, "--now", help="Decide as if it were this ISO time (no zone = WIB)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Decide whether a retrain is due (initial / daily / weekend / emergency) and why; --run performs it.

    When nothing is due it only looks: it imports no model library and creates no file or folder."""
    settings = _settings(config, json_output, {"command": "check", "read_only": True}, plugins=False)
    moment = _core(parse_option, "--now", now,
                   "an ISO time (e.g. 2026-11-24T05:00, WIB unless a zone is given)") or utc_now()

    def decided(result: check_job.CheckResult, running: bool) -> None:
        if not json_output:
            results.log_check(result, now)
        if running:
            console.configure(json_output=json_output, log_file=settings.log_file, command="check --run")

    result = _core(check_job.check, settings, moment, bool(now), run, decided)
    show_result(json_output, lambda: results.check_json(result))
    raise typer.Exit(result.exit_code)


@_command("rollback")
def rollback(
    reason: str = typer.Option("Manual rollback", "--reason", help="Why; kept in the history."),
    to: Optional[str] = typer.Option(None, "--to", help="Backup name, e.g. 20261124_050012 (default: the newest)."),
    list_only: bool = typer.Option(False, "--list", help="Show the backups and whether they verify; change nothing."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Restore a backed-up model pair (the replaced pair is backed up first, so a rollback can be undone)."""
    settings = _settings(config, json_output, {"command": "rollback", "read_only": list_only}, plugins=False)
    if list_only:
        backups = rollback_job.list_backups(settings)
        show_result(json_output, lambda: [tables.backup_json(b) for b in backups],
              lambda: results.print_backups(table_console(), backups, settings.models_dir))
        raise typer.Exit(0)
    result = _core(rollback_job.rollback, settings, reason, to, refused="rollback refused: {}; nothing changed")
    show_result(json_output, lambda: results.rollback_json(result, reason), lambda: results.log_rollback(result))
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
    """Past runs and model events, newest first, with a one-line summary. Only looks: creates nothing."""
    settings = _settings(config, json_output, {"json_output": json_output or csv_output, "log_file": ""},
                         plugins=False)
    since_time = _core(parse_option, "--since", since, "an ISO date or time (e.g. 2026-11-20 or 2026-11-20T05:00)")
    view = _core(past_runs.past_runs, settings, limit, type, status, since_time, plot)
    if plot is not None:
        tables.plot_history(view, settings, plot)
    if csv_output and not json_output:
        typer.echo(tables.to_csv(view), nl=False)
    else:
        show_result(json_output, lambda: tables.to_json(view), lambda: results.print_history(table_console(), view, plot))


@_command("auc")
def auc(
    live: bool = typer.Option(False, "--live", help="Score the active model on bars that closed after its training data."),
    source: Optional[str] = SourceOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """The active model's AUC, signals and status; --live measures it on bars that closed after its training."""
    settings = _settings(config, json_output, {"command": "auc", "read_only": not live}, source=source)
    result = _core(monitor.measure, settings, live=live)
    show_result(json_output, lambda: auc_report.auc_json(result, settings),
          lambda: table_console().print(auc_report.auc_panel(result, settings)))
    raise typer.Exit(result.exit_code)


def _replay_compare(compare: bool, configs: list[Path], source: Optional[str], symbol: Optional[str],
                    timeframe: Optional[str], start: Optional[str], end: Optional[str], out: Optional[Path],
                    dask: Optional[str], json_output: bool) -> None:
    """`replay --compare A.toml B.toml ...`: several configurations on the same bars, each paired with the first."""
    from autotrainer.replay.compare import compare_configurations, require_compare_flag
    from autotrainer.report.compare_report import compare_table, finished_line, write_comparison
    from autotrainer.report.replay_html import write_report

    _INVOCATION["json"] = json_output
    console.configure(json_output=json_output, to_console=False)
    _core(require_compare_flag, compare, configs)
    window = _window_options(start, end)
    overrides = {"source": source, "symbol": symbol, "timeframe": timeframe}
    comparison = _core(compare_configurations, configs, overrides, _INVOCATION.get("home"), out, *window, dask,
                       write_report, finished_line(json_output))
    comparison["report"] = str(write_comparison(comparison, Path(comparison["out_dir"])))
    show_result(json_output, lambda: comparison, lambda: table_console().print(compare_table(comparison)))


@_command("replay")
def replay(
    configs: Optional[list[Path]] = typer.Argument(None, metavar="[CONFIG.toml...]", help="With --compare: two or "
                                                   "more settings files, each read as --config reads one."),
    compare: bool = typer.Option(False, "--compare", help="Replay each CONFIG.toml on the same bars and window, in "
                                 "parallel, and pair each against the first (comparison.json/.html in --out)."),
    dask: Optional[str] = typer.Option(None, "--dask", metavar="SCHEDULER_ADDRESS", help="With --compare: run the "
                                       "replays on this existing Dask scheduler (e.g. tcp://10.0.0.5:8786; extra "
                                       "'dask') instead of a process pool here. Workers must see the same paths."),
    source: Optional[str] = SourceOption,
    symbol: Optional[str] = SymbolOption,
    timeframe: Optional[str] = TimeframeOption,
    server_timezone: Optional[str] = ServerTimezoneOption,
    start: Optional[str] = typer.Option(None, "--from", help="Start of the replay (ISO date or time, WIB unless it "
                                        "has a zone); default: when the first retrain has all its bars."),
    end: Optional[str] = typer.Option(None, "--to", help="End of the replay (ISO, WIB); default: the last bar."),
    out: Optional[Path] = typer.Option(None, "--out", help="New or empty folder for the replay's models, history, "
                                       "log and report (default: a new replay-YYYYMMDD-HHMMSS folder here)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Replay the retraining policy over history against two baselines; write report.html with charts."""
    from autotrainer.replay.summary import replay_and_summarise
    from autotrainer.report.progress import replay_progress
    from autotrainer.report.replay_html import write_report
    from autotrainer.report.replay_table import replay_table

    if compare or configs:
        _replay_compare(compare, configs or [], source, symbol, timeframe, start, end, out, dask, json_output)
        return
    settings = _settings(config, json_output, {"to_console": False, "log_file": ""}, source=source, symbol=symbol,
                         timeframe=timeframe, server_timezone=server_timezone)
    window = _window_options(start, end)
    with replay_progress(json_output) as progress:
        run, summary = _core(replay_and_summarise, settings, out, window[0], window[1], progress)
    summary["report"] = str(write_report(run, summary))
    show_result(json_output, lambda: summary, lambda: table_console().print(replay_table(summary)))


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
    """Read and check a source's bars exactly as a retrain would (layout, validation, gaps, clock, age); train nothing."""
    from autotrainer.jobs.inspect_bars import inspect_bars

    settings = _settings(config, json_output, source=source, symbol=symbol, timeframe=timeframe,
                         allow_stale_data=allow_stale or None)
    moment = _core(parse_option, "--now", now,
                   "an ISO time (e.g. 2026-02-11T05:00, WIB unless a zone is given)") or utc_now()
    console.configure(json_output=json_output, log_file=settings.log_file, command="bars", to_console=False,
                      read_only=True)
    report = _core(inspect_bars, settings, count, moment)
    show_result(json_output, lambda: report, lambda: typer.echo("\n".join(results.bars_lines(report, settings.min_bars))))
    raise typer.Exit(exit_codes.bars_exit_code(report))


@_command("audit")
def audit(
    source: Optional[str] = SourceOption,
    bars: Optional[int] = typer.Option(None, "--bars", min=1, help="Audit this many of the newest bars (default: a daily retrain's)."),
    features: Optional[str] = typer.Option(None, "--features", help="Feature functions to audit instead of setting "
                                           "'features': comma-separated 'package.module:function'."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Prove every feature causal (truncation test) and free of label leaks, as every retrain does."""
    from autotrainer.features.audit import run_audit

    settings = _settings(config, json_output, source=source, features=features)
    report = _core(run_audit, settings, bars)
    show_result(json_output, report.to_dict, lambda: print_audit(report))
    raise typer.Exit(exit_codes.audit_exit_code(report))


@_command("notify")
def notify(
    test: bool = typer.Option(False, "--test", help="Send one test message to Telegram and every notify_urls service."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Check the notification set-up: --test sends one message now, whatever notify_on and the hourly limit say."""
    settings = _settings(config, json_output, log={"command": "notify"}, plugins=False)
    if not test:
        _fail("nothing to do: `autotrainer notify --test` sends a test message", 2)
    answers = announce.try_channels(settings)
    show_result(json_output, lambda: {"channels": answers}, lambda: print_notify(answers))
    raise typer.Exit(exit_codes.notify_exit_code(answers))


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
