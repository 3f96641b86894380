"""Training ahead, on the other cores, the replay's retrains whose time the clock alone fixes.

The scheduled runs (the initial one at the first tick, each weekday's daily window, each weekend's window
after the week closed) are due at ticks the clock decides, on the bars closed by then: both are known before
the replay gets there. Training a candidate reads nothing else (`jobs.training`), so a process pool trains
them ahead while the replay's own loop makes every decision exactly as before: the run still loads its bars,
checks them, skips unchanged inputs, compares with the champion and publishes itself; it only takes the
pool's candidate when it was trained on bars with the same fingerprint, with the same rounds and settings.
Runs held back only by `emergency_min_hours` (an emergency, the initial run's retry) are due when that wait
ends, so they are sent ahead too. A run nothing foresaw (an emergency the moment its evidence turns low, a
window the 20-hour guard moved), or one whose training failed in the pool, trains inline as before, so the plan can only cost time, never change a result.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.config import Settings
from autotrainer.data.bars import Bars, fingerprint, newest
from autotrainer.jobs import steps, training
from autotrainer.replay.scoring import moment_ns
from autotrainer.schedule.facts import SchedulerState

log = logging.getLogger("autotrainer")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_WORKER: dict[str, Any] = {}  # in each pool process: the settings, all bars and the captured log lines


class ClosedBars:
    """What a run at a tick reads: the newest `count` of the first `closed` bars, checked as a source checks them.
    The check is a function of exactly those bars, the settings and `count`, so a run at a later tick with no
    new bar (a retry while the market is shut) gets the same checked bars again without recomputing them, with
    the check's notes logged again as a fresh check logs them."""

    def __init__(self, bars: Bars, settings: Settings) -> None:
        from autotrainer.data.server_clock import remember_weekly_closes

        self.bars, self.settings = bars, settings
        self.last: tuple[tuple[int, int], Bars] | None = None
        if settings.check_server_clock:  # each window's check then only looks its weekly closes up
            remember_weekly_closes(bars.frame["time"], bars.server_clock, settings.timeframe_minutes, bars.origin)

    def __call__(self, closed: int, count: int) -> Bars:
        from autotrainer.data.sources import prepare_bars

        if self.last is not None and self.last[0] == (closed, count):
            checked = self.last[1]
            for note in checked.notes:
                log.info("Data: %s", note)
        else:
            checked = prepare_bars(_first(self.bars, closed), self.settings, count)
            self.last = ((closed, count), checked)
        return dataclasses.replace(checked, warnings=list(checked.warnings), notes=list(checked.notes))


def _first(bars: Bars, closed: int) -> Bars:
    return Bars(bars.frame.iloc[:closed], bars.origin, list(bars.warnings), [], bars.server_clock)


def planned_runs(ticks: list[datetime], settings: Settings) -> list[tuple[datetime, str]]:
    """(tick, type) of the scheduled runs, if each one trains: the initial run at the first tick, then each
    window's first tick that the guard between scheduled retrains and the weekly close allow (schedule.policy)."""
    from autotrainer.schedule.windows import in_window, weekly_close

    guard = timedelta(hours=settings.min_hours_between_retrain)
    plan, last, weekend_done = [(ticks[0], "initial")], ticks[0], None
    for now in ticks[1:]:
        kind = in_window(now, settings)
        if kind is None or now - last < guard:
            continue
        if kind == "weekend":
            close = weekly_close(now)
            if now < close or close == weekend_done:
                continue
            weekend_done = close
        plan.append((now, kind))
        last = now
    return plan


@dataclass
class _Ahead:
    rounds: int
    future: Future


class Pretrainer:
    """A process pool training the planned runs a few ticks ahead of the replay's loop."""

    def __init__(self, settings: Settings, bars: Bars, ticks: list[datetime], closes: np.ndarray, workers: int,
                 audited: Any) -> None:
        self.settings, self.bars, self.closes, self.audited = settings, bars, closes, audited
        self.plan, self.next = planned_runs(ticks, settings), 0
        self.ahead = 2 * workers  # candidates trained or training beyond the loop: each holds its feature matrix
        self.pending: dict[datetime, _Ahead] = {}
        # 'spawn': a forked child of a process that has run OpenMP (XGBoost) can hang; the same on every OS
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_start_worker, initargs=(settings, bars, audited))
        self.used = 0

    def advance(self, now: datetime, published: bool) -> None:
        """Drop what the loop has passed and keep `ahead` planned runs training. While no model is published
        the scheduled runs wait: the initial run's retries take their place (`expect_retry` sends those)."""
        for tick in [t for t in self.pending if t < now]:
            self.pending.pop(tick).future.cancel()
        while self.next < len(self.plan) and len(self.pending) < self.ahead:
            tick, kind = self.plan[self.next]
            if kind != "initial" and not published:
                break
            self.next += 1
            if tick >= now:
                self._submit(tick, kind)

    def expect_retry(self, state: SchedulerState, hold: str) -> None:
        """A run held back only by `emergency_min_hours` (hold 'emergency_min_hours': an emergency whose evidence
        is low; 'initial_retry': the first model, after a failed or rejected attempt) is due at the first tick
        after that wait if nothing changes: train it ahead too (when it is not due then, it is dropped unused)."""
        kind, types = (("initial", ("initial",)) if hold == "initial_retry"
                       else ("emergency", ("initial", "daily", "weekend", "emergency")))
        last = state.last_attempt(types)
        if last is not None:
            due = last + timedelta(hours=self.settings.emergency_min_hours)
            self._submit(pd.Timestamp(due).ceil("15min").to_pydatetime(), kind)

    def _submit(self, tick: datetime, kind: str) -> None:
        if tick in self.pending:
            return
        count, rounds = self.settings.bars_and_rounds(kind)
        closed = int(np.searchsorted(self.closes, moment_ns(tick), side="right"))
        self.pending[tick] = _Ahead(rounds, self.pool.submit(_train_ahead, closed, count, rounds))

    def trainer(self, now: datetime) -> training.Trainer:
        """For the run at `now`: the pool's candidate if it was trained on exactly the bars the run loaded, and the
        replay's audit for one it trains itself."""
        ahead = self.pending.pop(now, None)

        def take(settings: Settings, loaded: steps.Loaded, rounds: int) -> training.Trained | None:
            if ahead is None or rounds != ahead.rounds or settings != self.settings:
                return None
            try:
                result = ahead.future.result()
            except Exception as exc:  # noqa: BLE001 - a broken pool costs time, never a result: train inline
                log.warning("Replay: training ahead failed (%s: %s); this run trains inline", type(exc).__name__, exc)
                return None
            if result is None or result[0] != (loaded.fingerprint or fingerprint(loaded.frame)):
                return None
            self.used += 1
            return result[1]

        return training.Trainer(take, self.audited)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(settings: Settings, bars: Bars, audited: Any) -> None:
    """One thread per pool process (the pool is as wide as the cores), then the bars, and a log that keeps lines.
    The limits are set before the numeric libraries load: each reads them once, when it loads, and SciPy and
    XGBoost bring their own OpenBLAS and OpenMP, which a limit on NumPy's alone leaves at one thread per core
    (measured: two such workers on two cores took 0.8 s per daily candidate instead of 0.45 s)."""
    import importlib

    for variable in THREAD_VARIABLES:
        os.environ[variable] = "1"
    for module in ("hmmlearn.hmm", "scipy.stats", "xgboost"):  # loaded now, under those limits
        importlib.import_module(module)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # and any library already loaded with the process
    lines: list[tuple[int, str]] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append((record.levelno, record.getMessage()))  # type: ignore[method-assign]
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    _WORKER.update(settings=settings, bars=bars, audited=audited, lines=lines)


def _train_ahead(closed: int, count: int, rounds: int) -> tuple[str, training.Trained] | None:
    """The candidate of a run on the first `closed` bars (its bars' fingerprint with it); None if it cannot be
    trained here (the run then trains inline, and fails or skips there exactly as it would have)."""
    settings, lines = _WORKER["settings"], _WORKER["lines"]
    try:
        bars = newest(_first(_WORKER["bars"], closed), count)  # the run's own check of these bars decides
        lines.clear()
        trained = training.train(settings, steps.Loaded(bars, bars.frame), rounds, lambda result: result, {},
                                 _WORKER["audited"])
    except Exception:  # noqa: BLE001 - see the docstring
        return None
    return fingerprint(bars.frame), trained._replace(logged=tuple(lines))
