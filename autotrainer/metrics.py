"""Honest numbers: AUC with a DeLong 95% confidence interval, accuracy, and the publish verdict.

The interval matters: on ~2,400 test bars an AUC of 0.53 has a half-width of about 0.02, so "0.53 vs
0.52" is noise. DeLong assumes independent rows; next-bar direction on M15 is close to that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from autotrainer.rules import REJECTED, auc_band, is_buy, is_sell, rounded

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class AucResult:
    auc: float
    low: float
    high: float
    rows: int


def _delong_components(y: np.ndarray, scores: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components (one per positive, one per negative row), by Sun & Xu's
    mid-rank algorithm: the AUC's variance, and two AUCs' covariance on the same rows, come from them."""
    pos, neg = scores[y], scores[~y]
    m, n = len(pos), len(neg)
    all_ranks = midranks(np.r_[pos, neg])
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_pos = (all_ranks[:m] - midranks(pos)) / n
    v_neg = 1.0 - (all_ranks[m:] - midranks(neg)) / m
    return float(auc), v_pos, v_neg


def midranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing the mean of their ranks: `scipy.stats.rankdata(values)` for finite values,
    bit for bit (each rank is a half-integer), without its input checks, which cost ten times the ranking on
    the few hundred rows of an hourly live measurement."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    new = np.empty(len(values), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(values))
    ranks = np.empty(len(values))
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def auc_with_ci(y_true: np.ndarray, scores: np.ndarray) -> AucResult:
    """ROC AUC and its DeLong 95% interval (Sun & Xu's fast algorithm); NaN when one class is absent."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype="float64")
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return AucResult(math.nan, math.nan, math.nan, len(s))
    auc, v_pos, v_neg = _delong_components(y, s)
    variance = np.var(v_pos, ddof=1) / m + np.var(v_neg, ddof=1) / n if m > 1 and n > 1 else 0.0
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return AucResult(auc, float(max(0.0, auc - half)), float(min(1.0, auc + half)), len(s))


@dataclass(frozen=True)
class PairedAuc:
    """Two models' AUCs on the same rows and the paired DeLong test of their difference (a - b)."""

    rows: int
    auc_a: float
    auc_b: float
    difference: float
    se: float  # standard error of the difference, from the paired (correlated) DeLong covariance
    low: float  # 95% interval of the difference
    high: float

    def p_worse(self, margin: float = 0.0) -> float:
        """One-sided p-value for 'a is worse than b by more than `margin`' (small p: demonstrably worse)."""
        if self.se == 0.0:
            return 0.0 if self.difference + margin < 0 else 1.0
        return normal_cdf((self.difference + margin) / self.se)


def normal_cdf(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def paired_auc(y_true: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray) -> PairedAuc:
    """DeLong's test for two correlated AUCs (both models scored on the same rows): the difference's
    variance is var(a) + var(b) - 2 cov(a, b), so a shared easy or hard stretch of bars cancels out."""
    y = np.asarray(y_true).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        raise ValueError(f"paired AUC needs at least two rows of each class, got {m} up and {n} down")
    auc_a, pos_a, neg_a = _delong_components(y, np.asarray(scores_a, dtype="float64"))
    auc_b, pos_b, neg_b = _delong_components(y, np.asarray(scores_b, dtype="float64"))
    cov_pos, cov_neg = np.cov(np.vstack([pos_a, pos_b])), np.cov(np.vstack([neg_a, neg_b]))
    variance = ((cov_pos[0, 0] + cov_pos[1, 1] - 2 * cov_pos[0, 1]) / m
                + (cov_neg[0, 0] + cov_neg[1, 1] - 2 * cov_neg[0, 1]) / n)
    se = math.sqrt(max(float(variance), 0.0))
    difference = auc_a - auc_b
    return PairedAuc(len(y), auc_a, auc_b, difference, se, difference - Z_95 * se, difference + Z_95 * se)


def column_aucs(y_true: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """ROC AUC of each column of `columns` as a score for `y_true` (Mann-Whitney with mid-ranks, vectorised
    over columns); NaN for every column when one class is absent."""
    from scipy.stats import rankdata

    y = np.asarray(y_true).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m == 0 or n == 0:
        return np.full(columns.shape[1], np.nan)
    ranks = rankdata(columns, axis=0)
    return (ranks[y].sum(axis=0) - m * (m + 1) / 2) / (m * n)


def accuracy(y_true: np.ndarray, probabilities: np.ndarray) -> float:
    """Share of rows where the 0.5 cut of the probability matches the label."""
    return float(((np.asarray(probabilities) >= 0.5) == np.asarray(y_true).astype(bool)).mean())


# The stored status of a candidate in each AUC band (the seed's values: its database column holds them).
STATUS_OF_BAND = {"success": "success", "warning": "warning", "below floor": REJECTED}


def publish_verdict(test_auc: float, floor: float, target: float) -> str:
    """The seed's rule: below the floor the candidate is rejected, below the target it is a warning."""
    return STATUS_OF_BAND[auc_band(test_auc, floor, target) or "below floor"]


@dataclass(frozen=True)
class SignalStats:
    """What the bot would have done at its confidence threshold: how often it acts and how often it is right.

    AUC ranks every bar; the bot only trades bars whose P(up) clears `threshold` (BUY) or falls below
    1 - `threshold` (SELL), so coverage and the hit rate of those signals are the numbers it trades on.
    """

    threshold: float
    rows: int
    buys: int
    sells: int
    hits: int
    hit_rate: float | None  # None when there was no signal
    hit_rate_low: float | None  # Wilson 95% interval
    hit_rate_high: float | None
    brier: float | None
    calibration: tuple[tuple[float, float, int], ...]  # per decile of P(up): (mean P(up), realised up-rate, rows)

    @property
    def signals(self) -> int:
        return self.buys + self.sells

    @property
    def coverage(self) -> float:
        return self.signals / self.rows if self.rows else 0.0

    def to_json(self) -> dict[str, object]:
        return {"signal_threshold": self.threshold, "signal_rows": self.rows, "signal_buys": self.buys,
                "signal_sells": self.sells, "signal_coverage": round(self.coverage, 6), "signal_hits": self.hits,
                "signal_hit_rate": rounded(self.hit_rate), "signal_hit_rate_low": rounded(self.hit_rate_low),
                "signal_hit_rate_high": rounded(self.hit_rate_high), "brier": rounded(self.brier),
                "calibration": [list(row) for row in self.calibration]}


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    """Wilson score 95% interval for a proportion: sound at small counts and near 0 or 1, unlike p +/- 1.96 se."""
    if trials == 0:
        return math.nan, math.nan
    p = successes / trials
    z2 = Z_95 ** 2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials ** 2)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


CALIBRATION_BINS = 10


def signal_stats(y_true: np.ndarray, probabilities: np.ndarray, threshold: float,
                 calibration: bool = True) -> SignalStats:
    """Coverage, hit rate (Wilson 95%), Brier score and decile calibration of BUY/SELL signals at `threshold`
    (`calibration` False leaves the deciles out: a live check, taken at every bar in a replay, keeps none)."""
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(probabilities, dtype="float64")
    buy, sell = is_buy(p, threshold), is_sell(p, threshold)
    hits = int((buy & y).sum() + (sell & ~y).sum())
    signals = int(buy.sum() + sell.sum())
    low, high = wilson_interval(hits, signals) if signals else (None, None)
    deciles = []
    if len(p) and calibration:
        edges = np.quantile(p, np.linspace(0, 1, CALIBRATION_BINS + 1))
        bins = np.clip(np.searchsorted(edges[1:-1], p, side="right"), 0, CALIBRATION_BINS - 1)
        for b in range(CALIBRATION_BINS):
            inside = bins == b
            if inside.any():
                deciles.append((round(float(p[inside].mean()), 6), round(float(y[inside].mean()), 6),
                                int(inside.sum())))
    return SignalStats(threshold, len(p), int(buy.sum()), int(sell.sum()), hits, hits / signals if signals else None,
                       low, high, float(np.mean((p - y) ** 2)) if len(p) else None, tuple(deciles))


# --- The publish floor on evidence (issue 17): `floor_rule`, beside the point rule of `publish_verdict` ---

FLOOR_RULES = ("point", "evidence")


def floor_verdict(test_auc: AucResult, floor: float, rule: str) -> bool:
    """Whether the floor rejects a candidate. 'point' is `publish_verdict`'s rule (test AUC below the floor, or NaN);
    'evidence' rejects only when the AUC's whole 95% interval lies below the floor, like the champion and
    emergency rules: an AUC of 0.51 +/- 0.02 is no evidence of being below a floor of 0.52."""
    if rule not in FLOOR_RULES:
        raise ValueError(f"floor rule {rule!r} is not one of {', '.join(FLOOR_RULES)}")
    if math.isnan(test_auc.auc):  # one class only: nothing measured, rejected under both rules
        return True
    if rule == "point":
        return test_auc.auc < floor
    return test_auc.high < floor
