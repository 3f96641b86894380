"""`replay`: the retraining policy over history, and with --compare several configurations side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from autotrainer import logs as console
from autotrainer.cli.base import (
    INVOCATION,
    ConfigOption,
    JsonOption,
    ServerTimezoneOption,
    SourceOption,
    SymbolOption,
    TimeframeOption,
    command,
    core,
    settings_for,
    window_options,
)
from autotrainer.report.plain import show_result, table_console


def _replay_compare(compare: bool, configs: list[Path], source: Optional[str], symbol: Optional[str],
                    timeframe: Optional[str], start: Optional[str], end: Optional[str], out: Optional[Path],
                    dask: Optional[str], json_output: bool) -> None:
    """`replay --compare A.toml B.toml ...`: several configurations on the same bars, each paired with the first."""
    from autotrainer.replay.compare import compare_configurations, require_compare_flag
    from autotrainer.report.compare_report import compare_table, finished_line, write_comparison
    from autotrainer.report.replay_html import write_report

    INVOCATION["json"] = json_output
    console.configure(json_output=json_output, to_console=False)
    core(require_compare_flag, compare, configs)
    window = window_options(start, end)
    overrides = {"source": source, "symbol": symbol, "timeframe": timeframe}
    comparison = core(compare_configurations, configs, overrides, INVOCATION.get("home"), out, *window, dask,
                       write_report, finished_line(json_output))
    comparison["report"] = str(write_comparison(comparison, Path(comparison["out_dir"])))
    show_result(json_output, lambda: comparison, lambda: table_console().print(compare_table(comparison)))


@command("replay")
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
    settings = settings_for(config, json_output, {"to_console": False, "log_file": ""}, source=source, symbol=symbol,
                         timeframe=timeframe, server_timezone=server_timezone)
    window = window_options(start, end)
    with replay_progress(json_output) as progress:
        run, summary = core(replay_and_summarise, settings, out, window[0], window[1], progress)
    summary["report"] = str(write_report(run, summary))
    show_result(json_output, lambda: summary, lambda: table_console().print(replay_table(summary)))

