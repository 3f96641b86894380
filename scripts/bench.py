"""Benchmarks: per-stage times in-process and whole `autotrainer` processes, on the bundled real bars.

    python scripts/bench.py [--runs N] [--replay-days N] [--replay-only] [--workers N]

Prints Markdown tables (median and min-max over N runs). Runs happen in temporary directories with the
rejection floor set to 0 so every run goes all the way through staging and publishing (the worst case).
Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Every run trains, stages and publishes (the worst case): no floor, no champion veto on a silent candidate, and
# repeated runs on the same bars are not skipped as unchanged.
PUBLISH_ALWAYS = {"publish_floor_auc": 0.0, "min_auc_threshold": 0.5, "signal_rule": "off", "skip_unchanged": False}
TYPES = {"daily": "8,000 bars, 50 rounds", "weekend": "15,000 bars, 80 rounds"}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def in_process(runs: int) -> None:
    from autotrainer.config import load_settings
    from autotrainer.jobs.retrain import retrain

    logging.getLogger("autotrainer").disabled = True
    print("\n### Stages in-process (median, min-max)\n")
    tables: dict[str, dict[str, list[float]]] = {}
    for training_type in TYPES:
        with tempfile.TemporaryDirectory() as tmp:
            settings = load_settings(None, {"models_dir": Path(tmp) / "models", "data_dir": Path(tmp) / "data",
                                            **PUBLISH_ALWAYS}, env={})
            retrain(settings, training_type)  # warm imports and caches once
            stages: dict[str, list[float]] = {}
            for _ in range(runs):
                outcome = retrain(settings, training_type)
                for stage, seconds in outcome.timings.items():
                    stages.setdefault(stage, []).append(seconds)
                stages.setdefault("total", []).append(outcome.record.duration_seconds or 0.0)
            tables[training_type] = stages
    stages = list(tables["daily"])
    print("| stage | " + " | ".join(f"{t} ({TYPES[t]})" for t in TYPES) + " |")
    print("|---|" + "---|" * len(TYPES))
    for stage in stages:
        print(f"| {stage} | " + " | ".join(spread(tables[t].get(stage, [0.0])) for t in TYPES) + " |")
    shares = {t: statistics.median(tables[t]["audit"]) / statistics.median(tables[t]["total"]) for t in TYPES}
    print("\nLook-ahead audit share of the in-process retrain (medians): "
          + ", ".join(f"{t} {share:.0%}" for t, share in shares.items()))


def audit_alone(runs: int) -> None:
    """The look-ahead audit by itself on each retrain type's bars (built-ins only, as a default retrain), repeated
    more often than whole retrains because it is short, with what it checked."""
    from autotrainer.config import load_settings
    from autotrainer.data.sources import load_bars
    from autotrainer.features.audit import audit_features
    from autotrainer.features.plugins import FeatureSpec
    from autotrainer.models.inputs import feature_rows

    print("\n### Look-ahead audit alone, built-ins (median, min-max)\n")
    print("| bars | time | checked |")
    print("|---|---|---|")
    settings = load_settings(None, {}, env={})
    for training_type in TYPES:
        bars = load_bars(settings, settings.bars_and_rounds(training_type)[0]).frame
        spec = FeatureSpec()
        features = feature_rows(bars, spec)
        times = []
        for _ in range(4 * runs + 1):
            start = time.perf_counter()
            report = audit_features(bars, spec, settings.lookahead, features)
            times.append(time.perf_counter() - start)
        print(f"| {training_type} ({len(bars):,} bars) | {spread(times[1:])} | {len(report.cuts)} exact prefix(es), "
              f"{report.probed_bars} bars probed with the next bar dropped |")


def _time_command(args: list[str], cwd: str, env: dict[str, str], runs: int) -> list[float]:
    """Wall times of `runs` executions after one warm-up run."""
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times[1:]


def whole_process(runs: int) -> None:
    print("\n### Whole `autotrainer` processes (median, min-max)\n")
    print("| command | wall time |")
    print("|---|---|")
    exe = str(Path(sys.executable).with_name("autotrainer"))
    env = dict(os.environ, **{f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISH_ALWAYS.items()})
    for training_type in TYPES:
        with tempfile.TemporaryDirectory() as tmp:
            times = _time_command([exe, "retrain", "--type", training_type], tmp, env, runs)
            print(f"| `autotrainer retrain --type {training_type}` ({TYPES[training_type]}) | {spread(times)} |")
            if training_type == "daily":  # a model was just published: `check` takes its not-due fast path
                check_times = _time_command([exe, "check"], tmp, env, runs)
    print(f"| `autotrainer check` (not due: the scheduler's every-15-minutes path) | {spread(check_times)} |")
    start = time.perf_counter()
    for _ in range(runs):
        subprocess.run([sys.executable, "-c", "import pandas, xgboost, hmmlearn.hmm, talib"], check=True)
    print(f"| imports alone (pandas, xgboost, hmmlearn, talib) | {(time.perf_counter() - start) / runs:.3f} s (mean) |")


def repeated_bars(real: Any) -> Any:
    """The real bars, then the same bars again a whole number of weeks later (so weekdays, hours and the weekly
    close stay where they were), prices scaled so the copy starts from the last real close and rounded to the
    cent like the real XAUUSD quotes. A longer series for timing only: never a result about the market."""
    import pandas as pd

    week = pd.Timedelta(weeks=1)
    copy = real.copy()
    # Shifted on New York's wall clock, where the market keeps its hours (the weekly close is 17:00 there):
    # a shift in UTC would move every close by an hour across a daylight-saving change, and the copy would
    # fail the server-clock check. The changes fall on Sundays while the market is shut, so no bar is ambiguous.
    new_york = real["time"].dt.tz_convert("America/New_York").dt.tz_localize(None)
    shifted = new_york + week * ((real["time"].iloc[-1] - real["time"].iloc[0]) // week + 1)
    copy["time"] = shifted.dt.tz_localize("America/New_York").dt.tz_convert("UTC")
    scale = real["close"].iloc[-1] / real["open"].iloc[0]
    for column in ("open", "high", "low", "close"):
        copy[column] = (copy[column] * scale).round(2)
    return pd.concat([real, copy], ignore_index=True)


def trading_days_of(bars: Any) -> Any:
    """The weekdays (UTC dates, Monday to Friday) that have bars: the market's Sunday-evening open belongs to Monday."""
    days = bars["time"].dt.normalize().drop_duplicates()
    return days[days.dt.day_of_week < 5].reset_index(drop=True)


def replay(trading_days: int, workers: int | None) -> None:
    """The issue's yardstick: a replay of the last `trading_days` trading days (M15, default policy), one process
    plus its training pool. The bundled real bars hold ~156 trading days, so a longer window replays them
    followed by the same bars again (`repeated_bars`), written as a MetaTrader 5 export."""
    import inspect

    from autotrainer.config import load_settings
    from autotrainer.data.sources import read_bars
    from autotrainer.replay.simulate import run_replay
    from autotrainer.replay.summary import summarise
    from autotrainer.report.replay_html import write_report

    logging.getLogger("autotrainer").disabled = True
    real = read_bars(load_settings(None, {"source": "sample"}, env={}), 1_000_000).frame
    real_days = len(trading_days_of(real))
    bars = real if trading_days < real_days else repeated_bars(real)
    pool = {"workers": workers} if "workers" in inspect.signature(run_replay).parameters else {}
    print(f"\n### Replay of the last {trading_days} trading days, M15 (default policy)\n")
    if bars is not real:
        print(f"The bundled real bars hold {len(real):,} bars ({real_days} trading days). For timing only, they are "
              f"followed by the same bars again, shifted by whole weeks and scaled to continue from the last close "
              f"({len(bars):,} bars): a repeated series, not new market data.\n")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "xauusd_m15.csv"
        mt5 = bars.assign(time=bars["time"].dt.tz_convert("Europe/Athens").dt.strftime("%Y-%m-%d %H:%M:%S"))
        mt5.to_csv(source, index=False)  # an MT5 export in the usual server clock (Europe/Athens)
        settings = load_settings(None, {"source": str(source), "server_timezone": "Europe/Athens"}, env={})
        start = trading_days_of(bars).iloc[-trading_days].to_pydatetime()
        began, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
        run = run_replay(settings, Path(tmp) / "replay", start=start, **pool)
        simulated = time.perf_counter() - began
        cpu, children = time.process_time() - cpu, _children_cpu() - children  # the pool has ended: counted
        summary = summarise(run)
        write_report(run, summary)
        total = time.perf_counter() - began
    retrains = sum(summary["retrains"].values())
    print("| what | value |")
    print("|---|---|")
    print(f"| window | {run.start:%Y-%m-%d %H:%M} to {run.end:%Y-%m-%d %H:%M} UTC, {run.ticks:,} ticks |")
    print(f"| retrains | {retrains} ({', '.join(f'{k} {v}' for k, v in summary['retrains'].items())}) |")
    workers = (pool.get("workers") or os.cpu_count()) if pool else None
    print(f"| trained ahead in the pool | {getattr(run, 'trained_ahead', 0)} "
          f"({f'{workers} workers' if workers else 'no pool in this version'}) |")
    per_retrain = simulated / max(retrains, 1)
    print(f"| simulation (decisions, retrains, scoring) | {simulated:.1f} s ({per_retrain:.3f} s per retrain) |")
    print(f"| with summary, charts and report | {total:.1f} s |")
    print(f"| CPU: replay process, pool processes | {cpu:.1f} s, {children:.1f} s (on a busy machine the wall time "
          f"stretches, these much less: unloaded the simulation takes at least max(replay, all / cores)) |")


def _children_cpu() -> float:
    """User + system seconds of this process's ended children (the replay's training pool; 0 on Windows)."""
    try:
        import resource
    except ImportError:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def guard_cost(runs: int) -> None:
    """What the out-of-distribution guard adds to the bot's `predict_latest`: the same call with and without it
    (on a busy machine the difference drowns in the call's own spread), and the guard's and expiry's steps alone."""
    import dataclasses

    from autotrainer.config import load_settings
    from autotrainer.data.sources import load_bars
    from autotrainer.jobs.retrain import retrain
    from autotrainer.live import min_bars, predict_latest
    from autotrainer.models.guard import guard_scores
    from autotrainer.store.bundle import load_bundle
    from autotrainer.store.expiry import expiry

    logging.getLogger("autotrainer").disabled = True
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, {"models_dir": Path(tmp) / "models", "data_dir": Path(tmp) / "data",
                                        **PUBLISH_ALWAYS}, env={})
        retrain(settings, "daily")
        guarded = load_bundle(settings.models_dir)
        bare = dataclasses.replace(guarded, guard=None)
        bars = load_bars(settings, min_bars(guarded)).frame
        times: dict[str, list[float]] = {"with guard": [], "without": []}
        for _ in range(max(runs, 1) * 20):  # interleaved, so both see the same machine load
            for name, bundle in (("with guard", guarded), ("without", bare)):
                start = time.perf_counter()
                predict_latest(bundle, bars)
                times[name].append((time.perf_counter() - start) * 1000)
        size = guarded.manifest["files"]["guard"]["bytes"]
        matrix = guarded.scored(bars)[0].iloc[-1:]  # the newest row, all the bot's guard looks at
        newest = bars["time"].iloc[-1].to_pydatetime()
        for name, step in (("guard score of the newest row", lambda: guard_scores(guarded.guard, matrix)),
                           ("expiry check", lambda: expiry(guarded.manifest, newest))):
            times[name] = []
            for _ in range(1000):
                start = time.perf_counter()
                step()
                times[name].append((time.perf_counter() - start) * 1000)
    print("\n### What serving safety adds to predict_latest (ms, median and min-max)\n")
    for name, values in times.items():
        print(f"- {name}: {statistics.median(values):.3f} ms ({min(values):.3f}-{max(values):.3f})")
    print(f"- the guard's summary file is {size} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (default 5)")
    parser.add_argument("--replay-days", type=int, default=250, help="trading days replayed (default 250; 0 skips it)")
    parser.add_argument("--replay-only", action="store_true", help="only the replay, none of the other tables")
    parser.add_argument("--workers", type=int, default=None, help="replay training pool size (default: the cores)")
    args = parser.parse_args()
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.runs} runs each")
    if not args.replay_only:
        in_process(args.runs)
        audit_alone(args.runs)
        whole_process(args.runs)
        guard_cost(args.runs)
    if args.replay_days:
        replay(args.replay_days, args.workers)


if __name__ == "__main__":
    main()
