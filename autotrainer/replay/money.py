"""The replay's money: what acting on each served model's signals would have earned after costs.

For a way of serving the bot (the policy or a baseline), every bar is scored by the model it had then, at that
model's own confidence threshold (from its manifest: under `confidence_threshold = "auto"` each model
chose its own), and each signal is charged that bar's spread and the commission (`edge.signal_edge`, the
same figures and interval as a retrain's test slice), beside always-long and no-trade on the same bars.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from autotrainer.edge import signal_edge
from autotrainer.replay.paired import net_per_row
from autotrainer.replay.simulate import ReplayRun

SIDE_THRESHOLD = 0.75  # signal_edge's threshold for P(up) already turned into sides: 1 BUY, 0 SELL, 0.5 none


def model_threshold(manifest: dict[str, Any], fallback: float) -> float:
    """The confidence threshold a model was published with (a number), else `fallback`."""
    value = manifest.get("confidence_threshold")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else fallback


def served_sides(run: ReplayRun, model: np.ndarray, p_up: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Each row's side under the model serving it: 1.0 BUY, 0.0 SELL, 0.5 none, NaN without a model; and
    the distinct thresholds used."""
    fallback = run.settings.fixed_confidence_threshold
    thresholds = np.full(len(p_up), np.nan)
    for i in np.unique(model[model >= 0]):
        thresholds[model == i] = model_threshold(run.trained[i].candidate.manifest, fallback)
    sides = np.where(p_up >= thresholds, 1.0, np.where(p_up <= 1.0 - thresholds, 0.0, 0.5))
    sides[np.isnan(p_up) | np.isnan(thresholds)] = np.nan
    return sides, sorted({float(t) for t in thresholds[~np.isnan(thresholds)]})


def edge_numbers(run: ReplayRun, sides: np.ndarray, rows: np.ndarray, thresholds: list[float]) -> dict[str, Any]:
    """The signals' net edge with its interval on `rows`, always-long and no-trade on the same bars, and
    where the point and spread came from (flat `edge_*` keys, as `retrain --json` gives them)."""
    settings = run.settings
    edge = signal_edge(run.close, run.spread, np.where(rows, sides, np.nan), SIDE_THRESHOLD, settings.lookahead,
                       run.costs.point, settings.commission_per_trade, seed=settings.random_seed)
    numbers = edge.to_json() | run.costs.to_json()
    numbers["edge_threshold"] = thresholds[0] if len(thresholds) == 1 else "per model"
    return numbers


def row_nets(run: ReplayRun, sides: np.ndarray) -> np.ndarray:
    """Each row's net return (price units) of acting on `sides` (`paired.net_per_row` with the run's costs)."""
    settings = run.settings
    return net_per_row(run.close, run.spread, sides, settings.lookahead, run.costs.point, settings.commission_per_trade)


def cumulative_net(run: ReplayRun, sides: np.ndarray, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per row, the cumulative net return (price units) of the signals, of always-long and of no-trade: what
    the report's money chart draws. A row without a signal adds nothing; every trade pays its spread."""
    signals = row_nets(run, np.where(rows, sides, np.nan))
    always_long = row_nets(run, np.where(rows & ~np.isnan(sides), 1.0, np.nan))
    return {"rows": ~np.isnan(signals), "signals": np.cumsum(np.nan_to_num(signals)),
            "always_long": np.cumsum(np.nan_to_num(always_long)), "no_trade": np.zeros(len(sides))}


def model_digest(candidate: Any) -> str:
    """SHA-256 of a candidate's XGBoost model bytes: two replays published the same models when these agree."""
    return hashlib.sha256(bytes(candidate.booster.save_raw("ubj"))).hexdigest()
