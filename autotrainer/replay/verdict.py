"""The answer a replay owes an operator first: did the policy beat its baselines on the same bars, what did
the market do meanwhile, and what would each way of serving the bot have earned after costs.

Every figure is on the common bars (those where all three servings had a model), so the policy, the
baselines, always-long and buy-and-hold face the same market. The paired differences are `paired.compare`'s
and the money is `edge.signal_edge`'s (through the baselines' `edge_*` numbers): one definition of each.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autotrainer.replay.money import row_nets
from autotrainer.replay.paired import Paired, compare
from autotrainer.replay.simulate import ReplayRun
from autotrainer.rules import rounded

# How the verdict's sentences name each serving (they are compared with the policy).
WORDS = {"keep_first": "keeping the first model", "publish_every": "publishing every retrain"}
OPENING = {"keep_first": "Retraining by the policy", "publish_every": "The policy"}


def unit(run: ReplayRun) -> str:
    """What one money figure counts: a move of 1.00 in the quoted price, per unit traded."""
    return f"{run.settings.symbol} price units (a move of 1.00 in the quote, per unit traded)"


def market(run: ReplayRun, common: np.ndarray) -> dict[str, Any]:
    """The market over the common bars: how often a bar closed higher `lookahead` bars later (what an
    all-BUY model's hit rate equals) and buy-and-hold's change from the first bar to the last horizon's end."""
    rows = np.flatnonzero(common)
    if not len(rows):
        return {"bars": 0, "base_rate_up": None, "first_close": None, "last_close": None, "drift_pct": None}
    first, last = float(run.close[rows[0]]), float(run.close[rows[-1] + run.settings.lookahead])
    return {"bars": int(len(rows)), "base_rate_up": rounded(float(np.mean(run.target[rows]))),
            "first_close": first, "last_close": last, "drift_pct": rounded((last / first - 1.0) * 100.0, 4)}


def money(run: ReplayRun, baselines: dict[str, dict[str, Any]], common: np.ndarray) -> dict[str, Any]:
    """Each serving's signals, always-long (every common bar a BUY) and buy-and-hold (one trade over the common
    bars, one spread paid), in price units and in average spreads."""
    figures: dict[str, Any] = {"unit": unit(run)}
    for name, numbers in baselines.items():
        figures[name] = _figures(numbers, "edge") | {"verdict": numbers["edge_verdict"]}
    if baselines:
        figures["always_long"] = _figures(next(iter(baselines.values())), "edge_always_long")
        figures["buy_and_hold"] = buy_and_hold(run, common, next(iter(baselines.values()))["edge_average_spread"])
    return figures


def _figures(numbers: dict[str, Any], prefix: str) -> dict[str, Any]:
    """One serving's money from `edge_numbers`' flat keys (`prefix` 'edge' or 'edge_always_long')."""
    def interval(suffix: str) -> dict[str, Any]:
        return {"value": numbers[f"{prefix}_mean{suffix}"], "low": numbers[f"{prefix}_low{suffix}"],
                "high": numbers[f"{prefix}_high{suffix}"]}

    return {"signals": numbers[f"{prefix}_signals"], "net_total": numbers[f"{prefix}_total"],
            "net_total_spreads": numbers[f"{prefix}_total_spreads"], "net_per_signal": interval(""),
            "net_per_signal_spreads": interval("_spreads"), "max_drawdown": numbers[f"{prefix}_max_drawdown"],
            "max_drawdown_spreads": numbers[f"{prefix}_max_drawdown_spreads"],
            "profit_factor": numbers[f"{prefix}_profit_factor"]}


def buy_and_hold(run: ReplayRun, common: np.ndarray, average_spread: float | None) -> dict[str, Any]:
    """Bought at the first common bar's close, sold at the last one's horizon end, its spread paid once;
    the drawdown is the price's worst fall from a peak on the way."""
    rows = np.flatnonzero(common)
    if not len(rows):
        return {"signals": 0, "net_total": None, "net_total_spreads": None,
                "net_per_signal": {"value": None, "low": None, "high": None},
                "max_drawdown": None, "max_drawdown_spreads": None}
    path = run.close[rows[0]:rows[-1] + run.settings.lookahead + 1]
    cost = float(run.spread[rows[0]]) * run.costs.point + run.settings.commission_per_trade
    net = float(path[-1] - path[0]) - cost
    drawdown = float(np.max(np.maximum.accumulate(path) - path))

    def spreads(value: float) -> float | None:
        return rounded(value / average_spread) if average_spread else None

    return {"signals": 1, "net_total": rounded(net), "net_total_spreads": spreads(net),
            "net_per_signal": {"value": rounded(net), "low": None, "high": None}, "max_drawdown": rounded(drawdown),
            "max_drawdown_spreads": spreads(drawdown)}


def verdict(run: ReplayRun, scored: dict[str, tuple[np.ndarray, np.ndarray]], common: np.ndarray,
            the_market: dict[str, Any]) -> dict[str, Any]:
    """The policy against each baseline on the common bars (`scored`: each serving's P(up) and sides), and
    the sentences that follow from the differences' intervals, with the base rate and the drift."""
    settings = run.settings
    nets = {name: row_nets(run, sides) for name, (_, sides) in scored.items()}
    comparisons: dict[str, Paired] = {
        name: compare("policy", name, run.target, scored["policy"][0], scored[name][0], nets["policy"], nets[name],
                      common, settings.lookahead, settings.random_seed)
        for name in WORDS if name in scored}
    sentences = [paired.sentence(OPENING[name], WORDS[name]) + "." for name, paired in comparisons.items()]
    return {"text": " ".join([*sentences, market_sentence(run, the_market)]),
            "comparisons": {name: paired.to_json() for name, paired in comparisons.items()}}


def market_sentence(run: ReplayRun, the_market: dict[str, Any]) -> str:
    """The base rate and the drift in words: what an always-BUY model's hit rate and money would ride on."""
    if not the_market["bars"]:
        return "No bar had a model under all three servings, so nothing was compared."
    horizon = "on the next bar" if run.settings.lookahead == 1 else f"{run.settings.lookahead} bars later"
    return (f"Base rate: {the_market['base_rate_up']:.1%} of the {the_market['bars']:,} common bars were followed by "
            f"a higher close {horizon}; {run.settings.symbol} went from {the_market['first_close']:.2f} to "
            f"{the_market['last_close']:.2f} ({the_market['drift_pct']:+.1f}%) over them.")
