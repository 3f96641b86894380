"""Serving safety in a replay: the guard's score and PSI bins of every bar (so each live measurement's drift is
a count), hours the bot had no tradeable model because its model had expired, and the signals the
out-of-distribution guard withheld, with what they would have earned after costs.

If the withheld signals lose money after costs, the guard paid for itself; if they earn, it cost that much.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from autotrainer.edge import signal_edge
from autotrainer.history.records import AucCheck
from autotrainer.replay.paired import net_per_row


@dataclass
class SlidingCounts:
    """`models.guard.bin_counts` of the rows `start`..`stop`, moved with the live window: each hourly
    measurement adds the rows it gained and takes away those it lost instead of counting ~8,000 rows again."""

    start: int = 0
    stop: int = 0
    counts: np.ndarray | None = None
    table: Any = None  # models.guard.psi_table of the candidate's summary

    def of(self, summary: dict[str, Any], bins: np.ndarray, start: int, stop: int) -> np.ndarray:
        from autotrainer.models.guard import bin_counts, psi_table

        if self.table is None:
            self.table = psi_table(summary)
        if self.counts is None or start < self.start or stop < self.stop or start > self.stop:
            self.counts = bin_counts(summary, bins[start:stop])
        else:
            self.counts = (self.counts + bin_counts(summary, bins[self.stop:stop])
                           - bin_counts(summary, bins[self.start:start]))
        self.start, self.stop = start, stop
        return self.counts


@dataclass(frozen=True)
class GuardRows:
    """One candidate's guard over the replay's feature rows (NaN / -1 before the bar after its training data)."""

    score: np.ndarray  # models.guard.guard_scores per row
    bins: np.ndarray  # models.guard.bins_of per row and column
    window: SlidingCounts = field(default_factory=SlidingCounts)  # the live measurement's counts


def empty_guard_rows(summary: dict[str, Any] | None, rows: int) -> GuardRows | None:
    """A candidate's guard over `rows` feature rows, not yet scored (None: the candidate has no guard)."""
    if summary is None:
        return None
    return GuardRows(np.full(rows, np.nan), np.full((rows, len(summary["columns"])), -1, dtype=np.int8))


def fill_guard_rows(guard: GuardRows | None, summary: dict[str, Any] | None, inputs: Any, rows: slice) -> None:
    """Score the rows `rows`, whose model inputs are `inputs`, with the guard (as the bot's API does)."""
    from autotrainer.models.guard import bins_of, guard_scores

    if guard is None or summary is None:
        return
    guard.score[rows], guard.bins[rows] = guard_scores(summary, inputs), bins_of(summary, inputs)


def live_drift(check: AucCheck, active: Any, rows: slice) -> AucCheck:
    """The measurement with the drift figures `auc --live` records: over the window's bars since training."""
    from autotrainer.jobs.monitor import with_drift
    from autotrainer.models.guard import drift_of_counts

    if active.guard is None:
        return check
    start = max(rows.start, active.first)  # the rows since training: all scored, up to the window's end
    stop = max(start, rows.stop)
    summary, window = active.candidate.guard, active.guard.window
    counts = window.of(summary, active.guard.bins, start, stop)
    scores = active.guard.score[start:stop]
    return with_drift(check, drift_of_counts(summary, counts, stop - start, scores, window.table))


def serving_safety(run: Any, model: np.ndarray, sides: np.ndarray, rows: np.ndarray) -> dict[str, Any]:
    """For the bars `rows` (bool) of a replay (simulate.ReplayRun, which imports this module) served by `model`
    (index into run.trained per row, -1 none) with the bot's `sides` (1 BUY, 0 SELL, 0.5 none): hours past
    expiry, and the withheld signals' count and net edge."""
    import pandas as pd

    from autotrainer.data.market_week import market_time_after

    expired = np.zeros(len(model), dtype=bool)
    withheld = np.zeros(len(model), dtype=bool)
    for i in np.unique(model[model >= 0]):
        trained, mine = run.trained[i], model == i
        manifest = trained.candidate.manifest
        limit = manifest.get("model_max_age_hours") or 0
        if limit > 0:
            ends = market_time_after(datetime.fromisoformat(manifest["data"]["end"]), float(limit))
            expired |= mine & (run.close_times > pd.Timestamp(ends)).to_numpy()
        if trained.guard is not None:
            withheld |= mine & (trained.guard.score > trained.candidate.guard["threshold"])
    signals = rows & ~expired & (sides != 0.5) & ~np.isnan(sides)
    held = signals & withheld
    lookahead, costs = run.settings.lookahead, run.costs
    net = net_per_row(run.close, run.spread, np.where(held, sides, 0.5), lookahead, costs.point,
                      run.settings.commission_per_trade)
    p = np.where(held, np.where(sides == 1.0, 1.0, 0.0), np.nan)  # the withheld sides as certain probabilities
    edge = signal_edge(run.close, run.spread, p, 0.5 + 1e-9, lookahead, costs.point, run.settings.commission_per_trade,
                       seed=run.settings.random_seed)
    minutes = run.settings.timeframe_minutes
    return {"hours_expired": round(float((rows & expired).sum()) * minutes / 60, 2),
            "guard_withheld_bars": int((rows & withheld & ~expired).sum()),
            "guard_withheld_signals": int(held.sum()), "guard_signals_share": round(float(held.sum()) / max(1, int(signals.sum())), 6),
            "guard_withheld_net_total": round(float(np.nansum(net[held])), 6),
            "guard_withheld_edge": {k: v for k, v in edge.to_json().items() if k in EDGE_KEYS}}


EDGE_KEYS = ("edge_verdict", "edge_signals", "edge_mean", "edge_low", "edge_high", "edge_total", "edge_mean_spreads")
