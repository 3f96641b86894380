"""The retrain's edge step: what a trade costs, the confidence threshold the bot will act at, and the net edge
of the candidate's signals on its test slice, with the verdict that `edge_rule` may reject on.

Under `confidence_threshold = "auto"` the threshold is chosen from the validation slice's predictions only
(`edge.choose_threshold`); the test slice is then scored once at it, like every other number a retrain
reports. The arithmetic lives in `autotrainer.edge` and `data.costs`; this module feeds them a run's bars.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from autotrainer.config import Settings

log = logging.getLogger("autotrainer")
AUTO = "auto"


class Threshold(NamedTuple):
    """The threshold the bot will act at, and (under 'auto') how it was chosen on the validation slice."""

    value: float
    choice: Any  # edge.ThresholdChoice, or None for a fixed number

    def to_json(self) -> dict[str, Any]:
        """What the manifest and --json say about how the threshold came about."""
        if self.choice is None:
            return {"rule": "fixed", "threshold": self.value}
        return {"rule": AUTO, "threshold": self.value, "chosen": self.choice.chosen, "reason": self.choice.reason,
                "slice": "validation", "candidates": [{"threshold": t, "signals": n, "mean": m}
                                                      for t, n, m in self.choice.candidates]}


class Measured(NamedTuple):
    """The candidate's test-slice edge after costs, and the costs it was charged."""

    edge: Any  # edge.Edge
    costs: Any  # data.costs.Costs
    threshold: Threshold

    def to_json(self) -> dict[str, Any]:
        """Flat `edge_*` keys (record, --json) plus the cost sources and how the threshold was chosen."""
        return {**self.edge.to_json(), **self.costs.to_json(), "threshold_choice": self.threshold.to_json()}


def run_costs(settings: Settings, loaded: Any) -> Any:
    """The point and spread this run charges (setting > MetaTrader 5's symbol point > the prices' decimals)."""
    from autotrainer.data.costs import bar_costs

    return bar_costs(loaded.frame, settings.point, settings.default_spread_points,
                     getattr(loaded.bars, "symbol_point", None))


def _padded(frame: Any, rows: Any, positions: Any, p: Any) -> Any:
    """P(up) on every bar of `frame`, NaN but at the given rows: the edge scores those bars against the closes
    that follow them, whichever slice those closes belong to."""
    import numpy as np

    padded = np.full(len(frame), np.nan)
    padded[frame.index.get_indexer(rows.index[positions])] = p
    return padded


def threshold(settings: Settings, booster: Any, matrix: Any, frame: Any, slices: Any, costs: Any) -> Threshold:
    """A fixed threshold as set; 'auto': the grid threshold with the best net edge on the VALIDATION slice."""
    if settings.confidence_threshold != AUTO:
        return Threshold(settings.fixed_confidence_threshold, None)
    from autotrainer.edge import choose_threshold
    from autotrainer.models.signal import predict

    p_validation = predict(booster, matrix.iloc[slices.validation])
    choice = choose_threshold(frame["close"].to_numpy(), costs.spread_points(frame),
                              _padded(frame, matrix, slices.validation, p_validation), settings.lookahead,
                              costs.point, settings.commission_per_trade, settings.min_signals,
                              settings.fixed_confidence_threshold)
    log.log(logging.INFO if choice.chosen else logging.WARNING, "Confidence threshold 'auto': %s", choice.reason)
    return Threshold(choice.threshold, choice)


def measure(settings: Settings, frame: Any, matrix: Any, slices: Any, p_test: Any, costs: Any,
            chosen: Threshold) -> Measured:
    """The net edge of the test slice's signals at the chosen threshold, logged in plain words."""
    from autotrainer.edge import signal_edge

    edge = signal_edge(frame["close"].to_numpy(), costs.spread_points(frame),
                       _padded(frame, matrix, slices.test, p_test), chosen.value, settings.lookahead, costs.point,
                       settings.commission_per_trade, seed=settings.random_seed)
    log.info("Edge after costs: %s", edge_text(edge.to_json()))
    log.info("Costs: point %g from %s; spread from %s%s", costs.point, costs.point_source, costs.spread_source,
             f"; commission {settings.commission_per_trade:g} per trade" if settings.commission_per_trade else "")
    return Measured(edge, costs, chosen)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.4f}"


def edge_text(edge: dict[str, Any]) -> str:
    """'no evidence of an edge: mean -0.0200 [-0.0900, +0.0500] per signal over 41 signals at 0.6 (-0.14
    spreads); always long -0.0100' from `Edge.to_json()` keys (a manifest's or a record's)."""
    verdict, signals = edge.get("edge_verdict"), edge.get("edge_signals") or 0
    if verdict is None:
        return "not measured"
    if not signals:
        return f"{verdict} at confidence {edge.get('edge_threshold')}"
    spreads = edge.get("edge_mean_spreads")
    return (f"{verdict}: mean {_signed(edge.get('edge_mean'))} [{_signed(edge.get('edge_low'))}, "
            f"{_signed(edge.get('edge_high'))}] per signal over {signals} signals at confidence "
            f"{edge.get('edge_threshold')}" + (f" ({spreads:+.2f} spreads)" if spreads is not None else "")
            + f"; always long {_signed(edge.get('edge_always_long_mean'))} per bar")


def edge_rejection(settings: Settings, measured: Measured, kept: str) -> str | None:
    """Why `edge_rule = no_loss` rejects the candidate (None: it does not): its test-slice edge after costs
    is demonstrably negative, the whole 95% interval below zero."""
    from autotrainer.edge import LOSING

    if settings.edge_rule != "no_loss" or measured.edge.verdict != LOSING:
        return None
    return (f"the test-slice edge after costs is {edge_text(measured.edge.to_json())}; candidate rejected, {kept} "
            "(setting 'edge_rule' = 'no_loss')")
