"""`autotrainer replay --compare`: several configurations replayed on the same bars and window, each in its own
process, then each paired against the first on the bars both served.

Each configuration is a settings file read exactly as `retrain --config` reads one (the environment and the
command's flags layered over it). Replays are seeded, so where one runs changes no number: a local process
pool sized to the cores, or the same task on an existing Dask cluster (`--dask`), gives what running them one
by one in this process gives (`tests/replay/test_replay_compare.py`). A worker gets plain data (the settings,
a folder, the window) and returns plain data: the replay's summary and the per-bar arrays the pairing needs,
never the boosters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from autotrainer.config import Settings, load_settings
from autotrainer.errors import ConfigError
from autotrainer.logs import keep_secret
from autotrainer.replay.simulate import REPLAY_READ_BARS, _window, check_out_dir, default_out_dir, run_replay, utc_ns

# What makes two replays see the same bars and the same outcomes: configurations must agree on these.
SAME_BARS = ("source", "symbol", "timeframe", "server_timezone", "lookahead")


@dataclass(frozen=True)
class Configuration:
    """One settings file of the comparison: its short name (the file's stem, made unique) and its settings."""

    name: str
    path: Path
    settings: Settings


@dataclass(frozen=True)
class Task:
    """What a worker receives: one configuration's settings, its own folder and the shared window; `render`
    (a top-level function: it is pickled by name) writes that replay's own report."""

    name: str
    settings: Settings
    out_dir: Path
    start: datetime
    end: datetime
    render: Callable[[Any, dict[str, Any]], Any] | None = None


def require_compare_flag(compare: bool, configs: list[Path]) -> None:
    """Configuration files belong to `replay --compare`: given without it, say how to write either form."""
    if configs and not compare:
        raise ConfigError("configuration files were given without --compare: write `replay --compare A.toml "
                          "B.toml ...` (one configuration alone: `replay --config FILE`)")


def load_configurations(paths: list[Path], overrides: dict[str, Any], home: Path | None) -> list[Configuration]:
    """Each file's settings, layered like `retrain --config`; ConfigError naming the file when one is missing
    or malformed, when fewer than two are given, or when they would not replay the same bars."""
    from autotrainer.jobs.session import plugins_from_home

    if len(paths) < 2:
        raise ConfigError(f"replay --compare needs two or more configuration files, got {len(paths)}: the first is "
                          "the one the others are compared against")
    configurations: list[Configuration] = []
    secrets: set[str] = set()
    for path in paths:
        settings = load_settings(path, overrides, home=home)
        secrets |= settings.secrets()
        keep_secret(secrets)  # every file's credentials masked, not only the last one's
        taken = {c.name for c in configurations}
        name, n = path.stem, 2
        while name in taken:
            name, n = f"{path.stem}-{n}", n + 1
        configurations.append(Configuration(name, path, settings))
    for configuration in configurations:
        plugins_from_home(configuration.settings)
    _check_same_bars(configurations)
    return configurations


def _check_same_bars(configurations: list[Configuration]) -> None:
    first = configurations[0]
    for other in configurations[1:]:
        for key in SAME_BARS:
            mine, theirs = getattr(other.settings, key), getattr(first.settings, key)
            if mine != theirs:
                raise ConfigError(f"config file {other.path} has {key} = {str(mine)!r} but {first.path} has "
                                  f"{str(theirs)!r}: configurations are compared on the same bars, so they must "
                                  f"agree on {', '.join(SAME_BARS)}")


def shared_window(configurations: list[Configuration], start: datetime | None,
                  end: datetime | None) -> tuple[datetime, datetime]:
    """One window for all: `start` or else the latest of their default starts, `end` or else the last bar;
    checked against every configuration (ConfigError naming the file) before anything is written."""
    from autotrainer.data.sources import read_bars

    first = configurations[0].settings
    closes = read_bars(first, REPLAY_READ_BARS).frame["time"] + timedelta(minutes=first.timeframe_minutes)
    windows = [_checked_window(c, closes, start, end) for c in configurations]
    start, end = max(w[0] for w in windows), windows[0][1]
    for configuration in configurations:
        _checked_window(configuration, closes, start, end)
    return start, end


def _checked_window(configuration: Configuration, closes: Any, start: datetime | None,
                    end: datetime | None) -> tuple[datetime, datetime]:
    try:
        return _window(configuration.settings, closes, start, end)
    except ConfigError as exc:
        raise ConfigError(f"config file {configuration.path}: {exc}") from None


def replay_task(task: Task) -> dict[str, Any]:
    """What a worker runs (top level, so a process pool or Dask pickles it by name): one configuration's
    replay into its folder, summed up and, with `render`, its report written. Returns plain data: the
    summary, and per feature row the bar time (ns), the outcome, the policy's P(up) and net return, and
    whether the row is inside the window."""
    from autotrainer.jobs.session import plugins_from_home
    from autotrainer.logs import configure
    from autotrainer.replay.money import served_sides
    from autotrainer.replay.paired import net_per_row
    from autotrainer.replay.summary import in_window, scores, served, summarise

    keep_secret(task.settings.secrets())
    configure(to_console=False)  # a fresh worker logs to the replay's own file only, as `replay` does
    plugins_from_home(task.settings)
    # Each configuration trains its runs inline: the configurations already share out the cores, and a Dask
    # worker (a daemon process) may not start a training pool of its own. The numbers are the same either way.
    run = run_replay(task.settings, task.out_dir, task.start, task.end, workers=1)
    summary = summarise(run)
    if task.render is not None:
        summary["report"] = str(task.render(run, summary))
    serving = served(run, "policy")
    p_up = scores(run, serving)
    sides, _ = served_sides(run, serving.model, p_up)
    settings = run.settings
    net = net_per_row(run.close, run.spread, sides, settings.lookahead, run.costs.point,
                      settings.commission_per_trade)
    return {"name": task.name, "summary": summary, "times": utc_ns(run.times).astype("int64"),
            "target": run.target, "p_up": p_up, "net": net, "window": in_window(run)}


def run_tasks(tasks: list[Task], dask_address: str | None = None,
              finished: Callable[[dict[str, Any]], None] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every task's result in the tasks' order, and how they ran: on a local process pool sized to the cores
    (capped by the tasks), or on the Dask scheduler at `dask_address`. `finished` hears of each as it ends."""
    if dask_address:
        return _on_dask(tasks, dask_address, finished), f"dask scheduler {dask_address}"
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = max(1, min(os.cpu_count() or 1, len(tasks)))
    results: list[dict[str, Any]] = [{} for _ in tasks]
    # spawn, as on Windows: a worker starts clean, with no thread or handler of this process copied into it
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(replay_task, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            if finished is not None:
                finished(results[futures[future]])
    return results, f"process pool of {workers} worker{'s' if workers > 1 else ''}"


def _on_dask(tasks: list[Task], address: str,
             finished: Callable[[dict[str, Any]], None] | None) -> list[dict[str, Any]]:
    """The same tasks on an existing Dask cluster (the optional `dask` extra). Its workers must reach the
    bar source and `--out` at the same paths: a shared folder."""
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise ConfigError("--dask needs Dask's distributed scheduler, an optional extra: "
                          "pip install \"autotrainer[dask]\" (or run without --dask on this machine's cores)") from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as exc:
        raise ConfigError(f"--dask {address}: no Dask scheduler answered there ({exc})") from None
    with client:  # closes this client only; the cluster is the operator's
        futures = [client.submit(replay_task, task, pure=False) for task in tasks]
        for future in as_completed(futures):
            if finished is not None:
                finished(future.result())
        return client.gather(futures)


def compare_configurations(paths: list[Path], overrides: dict[str, Any], home: Path | None, out_dir: Path | None,
                           start: datetime | None, end: datetime | None, dask_address: str | None = None,
                           render: Callable[[Any, dict[str, Any]], Any] | None = None,
                           finished: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """`replay --compare`: check everything, replay each configuration into its own subfolder of `out_dir`
    (default: a new replay folder here), and pair each against the first."""
    from autotrainer.replay.comparison import comparison

    configurations = load_configurations(paths, overrides, home)
    out_dir = (out_dir or default_out_dir()).resolve()  # absolute: a Dask worker's working folder is its own
    check_out_dir(out_dir)  # created by the first replay in it: a scheduler that does not answer leaves nothing
    start, end = shared_window(configurations, start, end)
    tasks = [Task(c.name, c.settings, out_dir / c.name, start, end, render) for c in configurations]
    results, runner = run_tasks(tasks, dask_address, finished)
    return comparison(configurations, results, start, end, runner, out_dir)
