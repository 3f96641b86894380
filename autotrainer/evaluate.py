"""Honest numbers: AUC with a DeLong 95% confidence interval, accuracy, and the publish verdict.

The interval matters: on ~2,400 test bars an AUC of 0.53 has a half-width of about 0.02, so "0.53 vs
0.52" is noise. DeLong assumes independent rows; next-bar direction on M15 is close to that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class AucResult:
    auc: float
    low: float
    high: float
    rows: int


def auc_with_ci(y_true: np.ndarray, scores: np.ndarray) -> AucResult:
    """ROC AUC and its DeLong 95% interval (Sun & Xu's fast algorithm); NaN when one class is absent."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(scores, dtype="float64")
    pos, neg = s[y], s[~y]
    m, n = len(pos), len(neg)
    if m == 0 or n == 0:
        return AucResult(math.nan, math.nan, math.nan, len(s))
    from scipy.stats import rankdata

    all_ranks = rankdata(np.r_[pos, neg])
    pos_ranks, neg_ranks = rankdata(pos), rankdata(neg)
    auc = (all_ranks[:m].sum() - m * (m + 1) / 2) / (m * n)
    v_pos = (all_ranks[:m] - pos_ranks) / n
    v_neg = 1.0 - (all_ranks[m:] - neg_ranks) / m
    variance = np.var(v_pos, ddof=1) / m + np.var(v_neg, ddof=1) / n if m > 1 and n > 1 else 0.0
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return AucResult(float(auc), float(max(0.0, auc - half)), float(min(1.0, auc + half)), len(s))


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


def verdict(test_auc: float, floor: float, target: float) -> str:
    """The seed's rule: below the floor the candidate is rejected, below the target it is a warning."""
    if not test_auc >= floor:  # NaN (one class only) is rejected too
        return "rolled_back"
    return "warning" if test_auc < target else "success"
