"""Two ways of serving the bot compared on the same bars: the difference, its interval and the plain words.

Honest AUCs here are about 0.51 +/- 0.02, so two servings' point estimates differ by noise. Both are scored
on the same bars, which makes the comparison paired: the realised AUC by DeLong's test for correlated AUCs,
the money by the mean of the per-bar difference of net returns (a bar without a signal earns 0), with the
same interval `edge.signal_edge` uses (t for one-bar horizons, block bootstrap in bar time otherwise).
Only an interval wholly on one side of zero is a difference; everything else is "did not beat".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autotrainer.edge import mean_interval
from autotrainer.metrics import paired_auc
from autotrainer.rules import rounded


@dataclass(frozen=True)
class Difference:
    """`a - b` with its 95% interval; None where it could not be measured."""

    value: float | None
    low: float | None
    high: float | None

    @property
    def direction(self) -> int:
        """+1 when a is demonstrably higher, -1 demonstrably lower, 0 without evidence either way."""
        if self.low is not None and self.low > 0:
            return 1
        if self.high is not None and self.high < 0:
            return -1
        return 0

    def text(self, digits: int = 4) -> str:
        if self.value is None:
            return "not measurable"
        interval = "" if self.low is None else f" [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"
        return f"{self.value:+.{digits}f}{interval}"

    def to_json(self) -> dict[str, float | None]:
        return {"value": rounded(self.value), "low": rounded(self.low), "high": rounded(self.high)}


@dataclass(frozen=True)
class Paired:
    """Serving `a` against serving `b` on `rows` bars: realised AUC and net money, each as a difference."""

    a: str
    b: str
    rows: int
    auc: Difference  # realised AUC of a minus b
    net_per_bar: Difference  # mean net return per bar (price units) of a minus b
    net_total: Difference  # the same over the window: per bar x rows

    @property
    def verdict(self) -> int:
        """+1 a beat b, -1 a did worse, 0 no evidence: money decides when it speaks, else the AUC."""
        return self.net_total.direction or self.auc.direction

    def sentence(self, a_words: str, b_words: str, unit: str = "price units") -> str:
        """'retraining did not beat keeping the first model on these bars: ...' with both differences."""
        said = {1: "beat", -1: "did worse than", 0: "did not beat"}[self.verdict]
        return (f"{a_words} {said} {b_words} on these bars: realised AUC difference {self.auc.text()}, "
                f"net return difference {self.net_total.text(2)} {unit} over {self.rows:,} bars")

    def to_json(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "rows": self.rows, "auc_difference": self.auc.to_json(),
                "net_per_bar_difference": self.net_per_bar.to_json(),
                "net_total_difference": self.net_total.to_json(), "verdict": self.verdict}


def net_per_row(close: np.ndarray, spread: np.ndarray, sides: np.ndarray, lookahead: int, point: float,
                commission: float) -> np.ndarray:
    """Each row's net return (price units) of acting on its side over `lookahead` bars: BUY (1.0) or SELL
    (0.0) pays the bar's spread x point plus the commission, no signal (0.5) earns 0; NaN where the side or
    the horizon is unknown."""
    move = np.full(len(close), np.nan)
    if lookahead < len(close):
        move[:len(close) - lookahead] = close[lookahead:] - close[:-lookahead]
    direction = np.where(sides == 1.0, 1.0, np.where(sides == 0.0, -1.0, 0.0))
    net = np.where(direction != 0, direction * move - (spread * point + commission), 0.0)
    net[np.isnan(sides) | np.isnan(move)] = np.nan
    return net


def compare(a: str, b: str, y: np.ndarray, p_a: np.ndarray, p_b: np.ndarray, net_a: np.ndarray, net_b: np.ndarray,
            rows: np.ndarray, lookahead: int, seed: int = 0) -> Paired:
    """Serving `a` against `b` on `rows` (bool mask): the rows where both had a score, an outcome and a net
    return. `p_*` are P(up), `net_*` from `net_per_row`."""
    rows = rows & ~np.isnan(y) & ~np.isnan(p_a) & ~np.isnan(p_b) & ~np.isnan(net_a) & ~np.isnan(net_b)
    count = int(rows.sum())
    auc = Difference(None, None, None)
    if count and min(int((y[rows] == 1).sum()), int((y[rows] == 0).sum())) >= 2:
        paired = paired_auc(y[rows], p_a[rows], p_b[rows])
        auc = Difference(paired.difference, paired.low, paired.high)
    per_bar = Difference(*mean_interval(net_a[rows] - net_b[rows], lookahead, seed))
    total = Difference(*(None if v is None else v * count for v in (per_bar.value, per_bar.low, per_bar.high)))
    return Paired(a, b, count, auc, per_bar, total)
