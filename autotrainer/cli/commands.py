"""The commands of the daily job and its upkeep: retrain, check, rollback, history, auc, bars, audit, notify."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from autotrainer import logs as console
from autotrainer.cli.base import (
    AllowStaleOption,
    ConfigOption,
    JsonOption,
    SourceOption,
    SymbolOption,
    TimeframeOption,
    TrainingType,
    command,
    core,
    fail,
    settings_for,
)
from autotrainer.jobs import announce, check as check_job, exit_codes, monitor, past_runs, rollback as rollback_job
from autotrainer.report import auc as auc_report, results, tables
from autotrainer.report.plain import print_audit, print_notify, show_result, table_console
from autotrainer.timeutil import parse_option, utc_now


@command("retrain")
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

    settings = settings_for(config, json_output, {"command": "retrain"}, source=source, symbol=symbol,
                         timeframe=timeframe, allow_stale_data=allow_stale or None)
    outcome = core(retrain_now, settings, type.value, bars, force)  # LockedError: nothing ran, nothing to record
    show_result(json_output, lambda: results.outcome_json(outcome))
    raise typer.Exit(outcome.exit_code)


@command("check")
def check(
    run: bool = typer.Option(False, "--run", help="Perform the retrain when one is due."),
    now: Optional[str] = typer.Option(None, "--now", help="Decide as if it were this ISO time (no zone = WIB)."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Decide whether a retrain is due (initial / daily / weekend / emergency) and why; --run performs it.

    When nothing is due it only looks: it imports no model library and creates no file or folder."""
    settings = settings_for(config, json_output, {"command": "check", "read_only": True}, plugins=False)
    moment = core(parse_option, "--now", now,
                   "an ISO time (e.g. 2026-11-24T05:00, WIB unless a zone is given)") or utc_now()

    def decided(result: check_job.CheckResult, running: bool) -> None:
        if not json_output:
            results.log_check(result, now)
        if running:
            console.configure(json_output=json_output, log_file=settings.log_file, command="check --run")

    result = core(check_job.check, settings, moment, bool(now), run, decided)
    show_result(json_output, lambda: results.check_json(result))
    raise typer.Exit(result.exit_code)


@command("rollback")
def rollback(
    reason: str = typer.Option("Manual rollback", "--reason", help="Why; kept in the history."),
    to: Optional[str] = typer.Option(None, "--to", help="Backup name, e.g. 20261124_050012 (default: the newest)."),
    list_only: bool = typer.Option(False, "--list", help="Show the backups and whether they verify; change nothing."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Restore a backed-up model pair (the replaced pair is backed up first, so a rollback can be undone)."""
    settings = settings_for(config, json_output, {"command": "rollback", "read_only": list_only}, plugins=False)
    if list_only:
        backups = rollback_job.list_backups(settings)
        show_result(json_output, lambda: [tables.backup_json(b) for b in backups],
              lambda: results.print_backups(table_console(), backups, settings.models_dir))
        raise typer.Exit(0)
    result = core(rollback_job.rollback, settings, reason, to, refused="rollback refused: {}; nothing changed")
    show_result(json_output, lambda: results.rollback_json(result, reason), lambda: results.log_rollback(result))
    raise typer.Exit(result.exit_code)  # 8: rolled back (it IS live) but the event could not be recorded


@command("history")
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
    settings = settings_for(config, json_output, {"json_output": json_output or csv_output, "log_file": ""},
                         plugins=False)
    since_time = core(parse_option, "--since", since, "an ISO date or time (e.g. 2026-11-20 or 2026-11-20T05:00)")
    view = core(past_runs.past_runs, settings, limit, type, status, since_time, plot)
    if plot is not None:
        tables.plot_history(view, settings, plot)
    if csv_output and not json_output:
        typer.echo(tables.to_csv(view), nl=False)
    else:
        show_result(json_output, lambda: tables.to_json(view), lambda: results.print_history(table_console(), view, plot))


@command("auc")
def auc(
    live: bool = typer.Option(False, "--live", help="Score the active model on bars that closed after its training data."),
    source: Optional[str] = SourceOption,
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """The active model's AUC, signals and status; --live measures it on bars that closed after its training."""
    settings = settings_for(config, json_output, {"command": "auc", "read_only": not live}, source=source)
    result = core(monitor.measure, settings, live=live)
    show_result(json_output, lambda: auc_report.auc_json(result, settings),
          lambda: table_console().print(auc_report.auc_panel(result, settings)))
    raise typer.Exit(result.exit_code)



@command("bars")
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

    settings = settings_for(config, json_output, source=source, symbol=symbol, timeframe=timeframe,
                         allow_stale_data=allow_stale or None)
    moment = core(parse_option, "--now", now,
                   "an ISO time (e.g. 2026-02-11T05:00, WIB unless a zone is given)") or utc_now()
    console.configure(json_output=json_output, log_file=settings.log_file, command="bars", to_console=False,
                      read_only=True)
    report = core(inspect_bars, settings, count, moment)
    show_result(json_output, lambda: report, lambda: typer.echo("\n".join(results.bars_lines(report, settings.min_bars))))
    raise typer.Exit(exit_codes.bars_exit_code(report))


@command("audit")
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

    settings = settings_for(config, json_output, source=source, features=features)
    report = core(run_audit, settings, bars)
    show_result(json_output, report.to_dict, lambda: print_audit(report))
    raise typer.Exit(exit_codes.audit_exit_code(report))


@command("notify")
def notify(
    test: bool = typer.Option(False, "--test", help="Send one test message to Telegram and every notify_urls service."),
    config: Optional[Path] = ConfigOption,
    json_output: bool = JsonOption,
) -> None:
    """Check the notification set-up: --test sends one message now, whatever notify_on and the hourly limit say."""
    settings = settings_for(config, json_output, log={"command": "notify"}, plugins=False)
    if not test:
        fail("nothing to do: `autotrainer notify --test` sends a test message", 2)
    answers = announce.try_channels(settings)
    show_result(json_output, lambda: {"channels": answers}, lambda: print_notify(answers))
    raise typer.Exit(exit_codes.notify_exit_code(answers))

