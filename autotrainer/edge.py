"""The edge of the bot's signals, net of costs: does acting on this model make money after the spread?

AUC ranks every bar; the bot trades only the bars whose P(up) clears its threshold, and pays the spread on
each. So the number an operator trades on is the mean return of those signals over the label horizon, after
costs, with an interval honest enough to say "no evidence" when that is the truth. Not a backtest of the
bot's own stop-loss/take-profit logic: each signal is held for exactly `lookahead` bars.

The interval: with `lookahead` 1 the signals' horizons do not overlap, and one-bar returns are close to
independent, so a Student t interval holds. With a longer horizon, signals on neighbouring bars share most of
their return and a naive interval is far too narrow; a circular block bootstrap in bar time, with blocks
several horizons long, keeps those shared stretches together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autotrainer.rules import rounded

EDGE_DEMONSTRATED = "edge demonstrated"
LOSING = "losing after costs"
NO_EVIDENCE = "no evidence of an edge"
NO_SIGNALS = "no signals"
RESAMPLES = 2000
BLOCK_HORIZONS = 5  # blocks of this many horizons: the block bootstrap's variance misses ~1/(3*5) of the overlap
# A percentile bootstrap of a few trades cannot reach beyond them (two gains give an interval between the two):
# below this many trades the block bootstrap gives no interval, so the verdict stays 'no evidence'.
MIN_BOOTSTRAP_TRADES = 10
THRESHOLD_GRID = (0.50, 0.51, 0.52, 0.53, 0.55, 0.57, 0.60)


@dataclass(frozen=True)
class NetReturns:
    """Figures of one series of per-trade net returns, in price units."""

    trades: int
    mean: float | None  # None when there was no trade
    low: float | None  # 95% interval of the mean
    high: float | None
    total: float
    profit_factor: float | None  # gross gains / gross losses; None without a losing (or any) trade
    max_drawdown: float  # worst fall of the cumulative sum from its running peak (>= 0)

    def to_json(self, prefix: str, spread: float) -> dict[str, object]:
        """The figures under `prefix`, and the same in units of `spread` (the average spread in price)."""
        def per_spread(value: float | None) -> float | None:
            return None if value is None or spread <= 0 else rounded(value / spread)

        return {f"{prefix}_signals": self.trades, f"{prefix}_mean": rounded(self.mean),
                f"{prefix}_low": rounded(self.low), f"{prefix}_high": rounded(self.high),
                f"{prefix}_total": rounded(self.total), f"{prefix}_profit_factor": rounded(self.profit_factor),
                f"{prefix}_max_drawdown": rounded(self.max_drawdown),
                f"{prefix}_mean_spreads": per_spread(self.mean), f"{prefix}_low_spreads": per_spread(self.low),
                f"{prefix}_high_spreads": per_spread(self.high), f"{prefix}_total_spreads": per_spread(self.total),
                f"{prefix}_max_drawdown_spreads": per_spread(self.max_drawdown)}


@dataclass(frozen=True)
class Edge:
    """The signals' net edge at `threshold`, with the two baselines on the same bars and the verdict."""

    threshold: float
    lookahead: int
    point: float
    commission: float
    bars: int  # bars with a complete horizon: the ones scored
    buys: int
    sells: int
    average_spread: float  # price units, over the scored bars
    method: str  # how the interval was made
    signals: NetReturns
    always_long: NetReturns  # every scored bar a BUY: gold's drift, minus the same costs
    verdict: str

    def to_json(self) -> dict[str, object]:
        """Flat keys for --json, the manifest and the run record; 'no trade' is zero by definition."""
        return {"edge_verdict": self.verdict, **self.signals.to_json("edge", self.average_spread),
                "edge_buys": self.buys, "edge_sells": self.sells, "edge_threshold": self.threshold,
                "edge_lookahead": self.lookahead, "edge_bars": self.bars, "edge_method": self.method,
                "edge_point": self.point, "edge_commission": self.commission,
                "edge_average_spread": rounded(self.average_spread),
                **self.always_long.to_json("edge_always_long", self.average_spread),
                "edge_no_trade_mean": 0.0, "edge_no_trade_total": 0.0}


def edge_verdict(signals: NetReturns) -> str:
    """Plain words on evidence: only an interval wholly above (below) zero says more than 'no evidence'."""
    if signals.trades == 0:
        return NO_SIGNALS
    if signals.low is not None and signals.low > 0:
        return EDGE_DEMONSTRATED
    if signals.high is not None and signals.high < 0:
        return LOSING
    return NO_EVIDENCE


def signal_edge(close: np.ndarray, spread: np.ndarray, p_up: np.ndarray, threshold: float, lookahead: int,
                point: float, commission: float = 0.0, seed: int = 0, block_length: int | None = None) -> Edge:
    """Net edge of the BUY (P(up) >= threshold) and SELL (P(up) <= 1 - threshold) signals over `lookahead` bars.

    The arrays are aligned bar by bar; `spread` is in points. A bar is scored when its P(up) is a number and
    its horizon ends inside `close` (pad P(up) with NaN to score a slice's last bars against later closes).
    Each trade pays its bar's spread x `point` plus `commission` (price units). `block_length` overrides the
    automatic interval: 0 is the t interval, which treats trades as independent (too narrow for overlapping
    horizons), n > 0 a block bootstrap with blocks of n bars.
    """
    move, cost, p = _scored(close, spread, p_up, lookahead, point, commission)
    direction = _directions(p, threshold)
    traded = direction != 0
    net = np.where(traded, direction * move - cost, 0.0)
    interval = _interval_method(lookahead, block_length)
    signals = _net_returns(net, traded, interval, seed)
    always_long = _net_returns(move - cost, np.ones(len(move), dtype=bool), interval, seed)
    return Edge(threshold, lookahead, point, commission, len(move), int((direction > 0).sum()),
                int((direction < 0).sum()), float(cost.mean() - commission) if len(cost) else 0.0,
                _describe(interval, lookahead), signals, always_long, edge_verdict(signals))


def _scored(close: np.ndarray, spread: np.ndarray, p_up: np.ndarray, lookahead: int, point: float,
            commission: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move over the horizon, round-trip cost and P(up) of the bars with a P(up) and a complete horizon."""
    close = np.asarray(close, dtype="float64")
    p = np.asarray(p_up, dtype="float64")
    cost = np.asarray(spread, dtype="float64") * point + commission
    move = np.full(len(close), np.nan)
    if lookahead < len(close):
        move[:len(close) - lookahead] = close[lookahead:] - close[:-lookahead]
    scored = ~np.isnan(p) & ~np.isnan(move)
    return move[scored], cost[scored], p[scored]


def _directions(p: np.ndarray, threshold: float) -> np.ndarray:
    """The bot's rule: +1 BUY at P(up) >= threshold, -1 SELL at P(up) <= 1 - threshold, else 0."""
    return np.where(p >= threshold, 1.0, np.where(p <= 1.0 - threshold, -1.0, 0.0))


def _interval_method(lookahead: int, block_length: int | None) -> int:
    """The block length in bars; 0 means the t interval (one-bar horizons, which do not overlap)."""
    if block_length is not None:
        return max(0, block_length)
    return 0 if lookahead == 1 else BLOCK_HORIZONS * lookahead


def _describe(block: int, lookahead: int) -> str:
    if block == 0:
        return "t interval (one-bar horizons do not overlap)"
    return (f"circular block bootstrap, {RESAMPLES} resamples, blocks of {block} bars "
            f"(lookahead {lookahead}: overlapping horizons)")


def _net_returns(per_bar: np.ndarray, traded: np.ndarray, block: int, seed: int) -> NetReturns:
    """Figures of the trades among `per_bar` (0 where there was none), with the 95% interval of their mean."""
    trades = per_bar[traded]
    count = len(trades)
    if count == 0:
        return NetReturns(0, None, None, None, 0.0, None, 0.0)
    mean = float(trades.mean())
    if count < (2 if block == 0 else MIN_BOOTSTRAP_TRADES):
        low = high = None
    elif block == 0:
        low, high = _t_interval(trades)
    else:
        low, high = _block_bootstrap(per_bar, traded.astype("float64"), block, seed)
    losses = -trades[trades < 0].sum()
    cumulative = np.cumsum(trades)
    drawdown = float(np.max(np.maximum.accumulate(np.r_[0.0, cumulative])[1:] - cumulative))
    return NetReturns(count, mean, low, high, float(trades.sum()),
                      float(trades[trades > 0].sum() / losses) if losses > 0 else None, max(drawdown, 0.0))


def mean_interval(per_bar: np.ndarray, lookahead: int, seed: int = 0) -> tuple[float | None, float | None, float | None]:
    """Mean of a per-bar series (e.g. the difference of two servings' net returns, 0 on bars without a
    trade) with the 95% interval `signal_edge` would give it: t for one-bar horizons, block bootstrap else."""
    values = np.asarray(per_bar, dtype="float64")
    figures = _net_returns(values, np.ones(len(values), dtype=bool), _interval_method(lookahead, None), seed)
    return figures.mean, figures.low, figures.high


def _t_interval(values: np.ndarray) -> tuple[float, float]:
    from scipy.stats import t

    half = float(t.ppf(0.975, len(values) - 1)) * float(values.std(ddof=1)) / math.sqrt(len(values))
    mean = float(values.mean())
    return mean - half, mean + half


def _block_bootstrap(per_bar: np.ndarray, traded: np.ndarray, block: int,
                     seed: int) -> tuple[float | None, float | None]:
    """Percentile 95% interval of sum(per_bar) / sum(traded) under a circular block bootstrap in bar time.

    Blocks of bars, not of trades: two signals share return when their bars are less than a horizon apart,
    however many bars without a signal lie between other pairs. Block sums come from one cumulative sum,
    so each resample is `bars / block` random starts: thousands of resamples cost a few milliseconds.
    No interval when most resamples hold no trade: the signals are too few to say anything.
    """
    n = len(per_bar)
    block = min(block, n)
    full, rest = divmod(n, block)
    rng = np.random.default_rng(seed)
    totals, counts = np.zeros(RESAMPLES), np.zeros(RESAMPLES)
    for length, blocks in ((block, full), (rest, 1 if rest else 0)):
        if blocks == 0:
            continue
        starts = rng.integers(0, n, size=(RESAMPLES, blocks))
        totals += _circular_sums(per_bar, length)[starts].sum(axis=1)
        counts += _circular_sums(traded, length)[starts].sum(axis=1)
    means = totals[counts > 0] / counts[counts > 0]  # a resample without a trade says nothing about their mean
    if len(means) < RESAMPLES // 2:
        return None, None
    low, high = np.quantile(means, [0.025, 0.975])
    return float(low), float(high)


def _circular_sums(values: np.ndarray, length: int) -> np.ndarray:
    """Sum of `length` values from each start, wrapping past the end."""
    cumulative = np.r_[0.0, np.cumsum(np.r_[values, values[:length - 1]])]
    return cumulative[length:length + len(values)] - cumulative[:len(values)]


@dataclass(frozen=True)
class ThresholdChoice:
    """The threshold `confidence_threshold = "auto"` picked on the validation slice, and why."""

    threshold: float
    chosen: bool  # False: no grid threshold gave min_signals signals, so `threshold` is the fallback
    reason: str
    candidates: tuple[tuple[float, int, float | None], ...]  # (threshold, signals, mean net return) on validation


def choose_threshold(close: np.ndarray, spread: np.ndarray, p_up: np.ndarray, lookahead: int, point: float,
                     commission: float, min_signals: int, fallback: float,
                     grid: tuple[float, ...] = THRESHOLD_GRID) -> ThresholdChoice:
    """The grid threshold with the best mean net return on the VALIDATION bars given, among those with at
    least `min_signals` signals; `fallback` when none has that many. Only point estimates are compared here:
    the chosen threshold is then measured once, with its interval, on the test slice like everything else."""
    move, cost, p = _scored(close, spread, p_up, lookahead, point, commission)
    candidates = []
    for threshold in grid:
        direction = _directions(p, threshold)
        traded = direction != 0
        count = int(traded.sum())
        mean = float((direction * move - cost)[traded].mean()) if count else None
        candidates.append((threshold, count, mean))
    qualifying = [c for c in candidates if c[1] >= min_signals and c[2] is not None]
    if not qualifying:
        return ThresholdChoice(fallback, False, f"no threshold of {', '.join(map(str, grid))} gave {min_signals} "
                               f"signals on the validation bars; kept {fallback}", tuple(candidates))
    best = max(qualifying, key=lambda c: (c[2], c[0]))
    return ThresholdChoice(best[0], True, f"{best[0]} had the best net edge per signal on the validation bars "
                           f"({best[2]:.4f}, {best[1]} signals)", tuple(candidates))
