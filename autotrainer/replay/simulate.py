"""`autotrainer replay`: the retraining policy run over history, exactly as cron would have run it.

A simulated clock walks over the bars in 15-minute ticks. At each tick the real scheduling decision
(`schedule.decide`) sees the real scheduler state of the replay's own history plus the active model's newest
live measurement, taken when cron takes it (hourly, `live_check_time`) on the bars closed by then; when a
retrain is due, the real pipeline runs at that simulated time on exactly those closed bars. Models, backups,
history and logs go to the replay's own folder, never to the live `models_dir` or database.

Scoring is done in bulk: every feature is proven causal, so features computed once over the whole range
equal what the bot would have computed bar by bar (`tests/replay/test_replay.py` checks bulk scores against
`live.predict_latest`). Each trained candidate, published or not, is scored from the bar after its training
data, which also gives the baselines: keep the first model, and publish every retrain. Scoring is lazy: the
active model as far as its live measurement has got, and at the end each candidate as far as some serving
uses it (`replay.scoring`).

Speed: with more than one worker, the runs whose time the clock fixes are trained ahead in a process pool
(`replay.pretrain`); every decision is still made here, in order, so the result is the same. The look-ahead
audit runs once, on every bar the replay reads, before the first run (`audit_once`): each run's bars are a
stretch of those, and the code does not change during a replay, so the runs do not audit them again.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from autotrainer.config import Settings
from autotrainer.data.bars import Bars
from autotrainer.errors import ConfigError
from autotrainer.history import words
from autotrainer.history.engines import mark_scratch
from autotrainer.history.records import AucCheck, RunRecord
from autotrainer.history.service import History, history_url
from autotrainer.replay.guard import empty_guard_rows, live_drift
from autotrainer.replay.scoring import moment_ns, score, score_served, utc_ns
from autotrainer.schedule import state as scheduler_state
from autotrainer.schedule.facts import SchedulerState
from autotrainer.schedule.policy import decide
from autotrainer.timeutil import as_utc, iso, utc_now, wib_text

log = logging.getLogger("autotrainer")
TICK = timedelta(minutes=15)  # how often cron fires `autotrainer check --run`
LIVE_CHECK_MINUTE = 7  # cron fires `autotrainer auc --live` at this minute of every hour
REPLAY_READ_BARS = 200_000  # what a replay asks a MetaTrader 5 terminal for: its whole history, in practice


@dataclass
class Trained:
    """One retrain of the replay: its record, and for a run that trained, the candidate's bulk scores."""

    record: RunRecord
    published: bool
    available_at: datetime  # when the run finished (simulated): from then on the bot could use it
    candidate: Any = None  # pipeline.Candidate
    p_up: np.ndarray | None = None  # per feature row; NaN before the bar after its training data and where unused
    regime: np.ndarray | None = None  # most probable regime (state index) per feature row; -1 where unscored
    guard: Any = None  # replay.guard.GuardRows: the guard's score and PSI bins per feature row (None: no guard)
    first: int = 0  # the feature row after its training data: scoring starts here
    scored: int = 0  # rows before this one are scored (from `first`)


@dataclass(frozen=True)
class Progress:
    """What the replay reports as it goes: ticks done of all, the simulated time, and a short line (< 100
    characters) when a run ended."""

    done: int
    total: int
    now: datetime
    line: str | None = None


@dataclass
class ReplayRun:
    """Everything a summary, chart or test needs, as plain arrays aligned to the feature rows."""

    settings: Settings
    out_dir: Path
    start: datetime
    end: datetime
    times: pd.Series  # bar open time (UTC) of each feature row
    close_times: pd.Series  # when each row's bar closed: its prediction is made then
    target: np.ndarray  # realised next-bar direction (NaN where unknown)
    close: np.ndarray  # each row's close: the signals' returns over `lookahead` bars (rows are consecutive bars)
    spread: np.ndarray  # each row's spread in points, as data.costs charges it
    costs: Any  # data.costs.Costs: the point and where the point and spread came from
    trained: list[Trained] = field(default_factory=list)
    holds: dict[str, int] = field(default_factory=dict)  # episodes of each guard holding a retrain back
    ticks: int = 0
    seconds: float = 0.0
    trained_ahead: int = 0  # runs that took their candidate from the pool (replay.pretrain)
    audit: Any = None  # features.audit.AuditReport: the one audit of every bar the runs read (`audit_once`)


def replay_settings(settings: Settings, out_dir: Path) -> Settings:
    """The operator's policy with every side effect redirected into `out_dir`."""
    return dataclasses.replace(settings, models_dir=out_dir / "models", data_dir=out_dir / "data", database_url="",
                               log_file=str(out_dir / "replay.log"))


def default_out_dir(now: datetime | None = None) -> Path:
    """A new folder under the working directory, named after the moment (WIB) the replay started."""
    from autotrainer.timeutil import WIB

    base = Path(f"replay-{as_utc(now or utc_now()).astimezone(WIB):%Y%m%d-%H%M%S}")
    candidate, n = base, 1
    while candidate.exists():
        candidate, n = Path(f"{base}-{n}"), n + 1
    return candidate


def check_out_dir(out_dir: Path) -> None:
    """Refuse a folder that already holds something: an earlier replay's models and history would mix in."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ConfigError(f"--out {out_dir} already exists and is not empty; a replay needs a new or empty folder "
                          "so no earlier models or history mix into it")


def run_replay(settings: Settings, out_dir: Path, start: datetime | None = None, end: datetime | None = None,
               progress: Callable[[Progress], None] | None = None, workers: int | None = None) -> ReplayRun:
    """Replay the policy of `settings` over its source's bars between `start` and `end` (default: from the
    moment the first retrain has its full bars to the last bar); its log goes to `out_dir`/replay.log.
    `workers` processes train the scheduled runs ahead (default: one per core; 1 trains every run inline)."""
    from autotrainer.data.sources import read_bars
    from autotrainer.logs import add_file_handler

    clock = time.perf_counter()
    check_out_dir(out_dir)
    live_settings, settings = settings, replay_settings(settings, out_dir)
    mark_scratch(history_url(settings))
    bars = read_bars(settings, REPLAY_READ_BARS)
    start, end = _window(settings, bars.frame["time"] + timedelta(minutes=settings.timeframe_minutes), start, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    handler = add_file_handler(log, Path(settings.log_file), "replay")
    try:
        log.info("Replay of %s %s from %s: %s to %s, models and history in %s", settings.symbol, settings.timeframe,
                 bars.origin, wib_text(start), wib_text(end), out_dir)
        run = _run(settings, live_settings, out_dir, bars, start, end, progress, workers or os.cpu_count() or 1)
    finally:
        if handler is not None:
            log.removeHandler(handler)
            handler.close()
    run.seconds = time.perf_counter() - clock
    log.info("Replay finished in %.1f s", run.seconds)
    return run


def _run(settings: Settings, live_settings: Settings, out_dir: Path, bars: Bars, start: datetime, end: datetime,
         progress: Callable[[Progress], None] | None, workers: int) -> ReplayRun:
    from autotrainer.features.plugins import FeatureSpec
    from autotrainer.features.target import make_target
    from autotrainer.models.inputs import feature_rows

    frame = bars.frame
    closes = frame["time"] + timedelta(minutes=settings.timeframe_minutes)
    usable = int(np.searchsorted(utc_ns(closes), moment_ns(end), side="right"))
    spec = FeatureSpec.from_settings(settings)
    features = feature_rows(frame.iloc[:usable], spec)  # once for the whole range: every column is causal
    from autotrainer.data.costs import bar_costs

    target = make_target(frame.iloc[:usable], settings.lookahead).loc[features.index].to_numpy()
    rows = frame.loc[features.index]
    costs = bar_costs(frame, settings.point, settings.default_spread_points)  # a file's point (MT5: set `point`)
    run = ReplayRun(live_settings, out_dir, start, end, frame["time"].loc[features.index].reset_index(drop=True),
                    closes.loc[features.index].reset_index(drop=True), target, rows["close"].to_numpy(dtype="float64"),
                    costs.spread_points(rows), costs)
    run.audit = audit_once(settings, frame.iloc[:usable], spec, features)
    _simulate(run, settings, bars, features, progress, workers)
    score_served(run, features)
    return run


def audit_once(settings: Settings, frame: pd.DataFrame, spec: Any, features: pd.DataFrame) -> Any:
    """The look-ahead audit of every bar any run of the replay reads, before the first run; LeakageError (and no
    run) when a column leaks, as every run would have failed with it. It probes as densely as a run's own audit,
    so each run's bars hold as many probes as that run would have drawn (`jobs.steps.covered_by`)."""
    from autotrainer.features.audit import audit_features, require_clean

    log.info("Auditing %d features for look-ahead once, on all %s bars the replay's runs read...", features.shape[1],
             f"{len(frame):,}")
    report = audit_features(frame, spec, settings.lookahead, features)
    require_clean(report)
    log.info("Audit of the replay's bars: %s", report.summary())
    return report


def _window(settings: Settings, closes: pd.Series, start: datetime | None,
            end: datetime | None) -> tuple[datetime, datetime]:
    first_full = closes.iloc[min(len(closes), settings.initial_bars) - 1].to_pydatetime()
    start = as_utc(start) if start is not None else first_full
    end = as_utc(end) if end is not None else closes.iloc[-1].to_pydatetime()
    earliest = closes.iloc[min(len(closes), settings.min_bars) - 1].to_pydatetime()
    if start < earliest:
        raise ConfigError(f"--from {wib_text(start)} is before {settings.min_bars} bars had closed "
                          f"({wib_text(earliest)}; setting 'min_bars'): nothing could train yet")
    if end <= start:
        raise ConfigError(f"--to {wib_text(end)} is not after --from {wib_text(start)} (the bars end "
                          f"{wib_text(closes.iloc[-1].to_pydatetime())})")
    return start, end


def _simulate(run: ReplayRun, settings: Settings, bars: Bars, features: pd.DataFrame,
              progress: Callable[[Progress], None] | None, workers: int) -> None:
    from autotrainer.jobs.monitor import live_window_bars
    from autotrainer.jobs.retrain import retrain
    from autotrainer.jobs.training import Trainer
    from autotrainer.replay.pretrain import ClosedBars, Pretrainer

    closes = utc_ns(bars.frame["time"] + timedelta(minutes=settings.timeframe_minutes))
    first = pd.Timestamp(run.start).ceil("15min").to_pydatetime()
    ticks = [first + i * TICK for i in range(int((run.end - first) / TICK) + 1)]
    run.ticks = len(ticks)
    closed_now, checked = 0, ClosedBars(bars, settings)

    def closed_bars(_: Settings, count: int, now: datetime) -> Bars:
        return checked(closed_now, count)

    state = scheduler_state.current(settings)
    active: Trained | None = None
    live, measured_at_bars, live_time, held = None, -1, None, None
    live_rows = slice(0)  # the feature rows the newest measurement judged
    seen = _with_live(state, live)  # what decide sees: built again only when the state or the measurement changes
    history = History(settings)
    ahead = Pretrainer(settings, bars, ticks, closes, workers, run.audit) if workers > 1 else None
    try:
        for done, now in enumerate(ticks, 1):
            closed_now = int(np.searchsorted(closes, moment_ns(now), side="right"))
            if ahead is not None:
                ahead.advance(now, state.model.published)
            measured_at = live_check_time(now)
            if active is not None and measured_at >= active.available_at and measured_at != live_time:
                closed_then = int(np.searchsorted(closes, moment_ns(measured_at), side="right"))
                if closed_then != measured_at_bars:
                    live, live_rows = _live(run, features, active, closed_then, live_window_bars(settings), settings,
                                            measured_at)
                    if settings.drift_emergency_share > 0:  # the decision reads the drift only under this rule
                        live = live_drift(live, active, live_rows)
                    measured_at_bars = closed_then
                elif live is not None:  # no new bar since (the market is shut): the same numbers, taken again
                    live = dataclasses.replace(live, measured_at=iso(measured_at) or "")
                live_time = measured_at
                seen = _with_live(state, live)
            decision = decide(now, seen, settings)
            if decision.hold != held and decision.hold is not None:
                run.holds[decision.hold] = run.holds.get(decision.hold, 0) + 1
            held = decision.hold
            if ahead is not None and decision.hold in ("emergency_min_hours", "initial_retry"):
                ahead.expect_retry(state, decision.hold)
            line = None
            if decision.due and decision.training_type is not None:
                if live is not None:  # the measurement this decision saw, recorded as `auc --live` records it
                    history.add_auc_check(live if live.drift_bars is not None else live_drift(live, active, live_rows))
                outcome = retrain(settings, decision.training_type, decision.trigger or "schedule", decision.reason,
                                  now=now, bars_source=closed_bars,
                                  trainer=ahead.trainer(now) if ahead else Trainer(audited=run.audit))
                trained = _trained(run, outcome)
                run.trained.append(trained)
                if trained.published:
                    active, live, measured_at_bars, live_time = trained, None, -1, None
                state = scheduler_state.current(settings)
                seen = _with_live(state, live)
                log.info("Replay: %s", _run_line(outcome.record, trained.published))
                line = _short_line(outcome.record, trained.published)
            if progress is not None:
                progress(Progress(done, len(ticks), now, line))
    finally:
        history.close()
        if ahead is not None:
            ahead.close()
            run.trained_ahead = ahead.used


def live_check_time(now: datetime) -> datetime:
    """When `auc --live` last measured at or before `now`: cron runs it hourly at minute LIVE_CHECK_MINUTE
    (cron/autotrainer.crontab), and the scheduler sees the newest measurement."""
    mark = now.replace(minute=LIVE_CHECK_MINUTE, second=0, microsecond=0)
    return mark if mark <= now else mark - timedelta(hours=1)


def _with_live(state: SchedulerState, live: AucCheck | None) -> SchedulerState:
    """The saved state with the active model's newest live measurement, as `auc --live` would record it."""
    return SchedulerState(scheduler_state.with_live(state.model, live), state.runs)


def _live(run: ReplayRun, features: pd.DataFrame, active: Trained, closed: int, window: int, settings: Settings,
          now: datetime) -> tuple[AucCheck, slice]:
    """The measurement `auc --live` would take now, and the feature rows it judged: it reads the newest `window`
    closed bars, drops their warm-up, and counts only bars whose outcome bar has closed too. Feature row r is
    bar r + warm-up. Its drift figures (`replay.guard.live_drift`) are added where they are read: by the
    decision under the drift rule, and in the check a run records."""
    from autotrainer.features import WARMUP_BARS
    from autotrainer.jobs.monitor import live_check

    rows = slice(max(0, closed - window), max(0, closed - WARMUP_BARS))
    score(len(run.times), features, active, rows.stop)
    target = run.target[rows].copy()
    target[max(0, closed - WARMUP_BARS - settings.lookahead - rows.start):] = np.nan
    return live_check(active.candidate.manifest, run.times[rows], target, active.p_up[rows], settings, now), rows


def _trained(run: ReplayRun, outcome: Any) -> Trained:
    """A run's entry; a candidate's score arrays start empty (NaN, -1) and fill as `score` is asked for rows."""
    record = outcome.record
    finished = datetime.fromisoformat(record.completed_at or record.started_at)
    trained = Trained(record, outcome.published, finished, outcome.candidate)
    if outcome.candidate is not None:
        data_end = datetime.fromisoformat(outcome.candidate.manifest["data"]["end"])
        trained.first = trained.scored = int(np.searchsorted(utc_ns(run.times), moment_ns(data_end), side="right"))
        trained.p_up = np.full(len(run.times), np.nan)
        trained.regime = np.full(len(run.times), -1, dtype=np.int8)
        trained.guard = empty_guard_rows(outcome.candidate.guard, len(run.times))
    return trained


def _run_line(record: RunRecord, published: bool) -> str:
    auc = "" if record.test_auc is None else f", test AUC {record.test_auc:.4f} [{record.test_auc_low:.3f}-{record.test_auc_high:.3f}]"
    verdict = words.outcome_text("success" if published else record.status, record.auc_band)
    note = f" ({record.error_message})" if record.error_message and not published else ""
    return (f"{wib_text(datetime.fromisoformat(record.started_at))} {record.training_type} ({record.trigger}), "
            f"{record.bars_used or 0} bars{auc}: {verdict}{note}")


def _short_line(record: RunRecord, published: bool) -> str:
    """The run in under 100 characters, for a progress that prints a line per run (cp1252-safe)."""
    auc = "" if record.test_auc is None else f", test AUC {record.test_auc:.3f}"
    return (f"{wib_text(datetime.fromisoformat(record.started_at))} {record.training_type}: "
            f"{words.outcome('success' if published else record.status)}{auc}")
