"""The XGBoost signal model: chronological split with embargo gaps, early stopping on validation only.

Layout of the usable rows (oldest first):

    [ fit ............ ][gap][ validation ][gap][ test ..................... ]
    |<------------- train_ratio ------------->|<------- 1 - train_ratio ----->|

The seed stopped early on the test slice and reported AUC on that same slice; here the boosting round is
chosen on the validation slice and the test slice is touched once, at the end. Each gap is at least the
target horizon plus the longest feature window, so no label or feature window straddles two slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.errors import InsufficientDataError

MIN_SLICE_ROWS = 50


@dataclass(frozen=True)
class Split:
    """Row positions (into the usable rows) of each slice."""

    fit: slice
    validation: slice
    test: slice
    embargo: int

    def sizes(self) -> dict[str, int]:
        return {name: s.stop - s.start for name, s in
                (("fit", self.fit), ("validation", self.validation), ("test", self.test))} | {"embargo": self.embargo}


def chronological_split(rows: int, train_ratio: float, validation_ratio: float, embargo: int) -> Split:
    """Place the three slices and two gaps; InsufficientDataError when a slice would be too small to mean anything."""
    test_start = int(round(rows * train_ratio))
    train_end = test_start - embargo
    validation_start = train_end - max(int(round(train_end * validation_ratio)), MIN_SLICE_ROWS)
    fit_end = validation_start - embargo
    split = Split(slice(0, fit_end), slice(validation_start, train_end), slice(test_start, rows), embargo)
    smallest = min(split.sizes()[name] for name in ("fit", "validation", "test"))
    if fit_end < MIN_SLICE_ROWS or smallest < MIN_SLICE_ROWS:
        raise InsufficientDataError(
            f"{rows} usable rows cannot hold fit, validation and test slices of at least {MIN_SLICE_ROWS} rows "
            f"with two {embargo}-bar embargo gaps; use more bars"
        )
    return split


@dataclass
class SignalFit:
    booster: Any  # xgboost.Booster, sliced to the best iteration
    best_iteration: int
    rounds_requested: int
    validation_auc: float
    importance: dict[str, float]


def xgb_params(max_depth: int, learning_rate: float, seed: int) -> dict[str, Any]:
    return {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "max_depth": max_depth,
        "eta": learning_rate,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "min_child_weight": 5.0,
        "nthread": 2,
        "seed": seed,
    }


def fit_signal_model(
    x: pd.DataFrame, y: np.ndarray, split: Split, rounds: int, early_stopping_rounds: int, params: dict[str, Any]
) -> SignalFit:
    """Boost on the fit slice, stop on the validation slice, and keep only the trees up to the best round."""
    import xgboost as xgb

    dfit = matrix(x.iloc[split.fit], label=y[split.fit])
    dval = matrix(x.iloc[split.validation], label=y[split.validation])
    evals_result: dict[str, Any] = {}
    booster = xgb.train(params, dfit, num_boost_round=rounds, evals=[(dval, "validation")],
                        early_stopping_rounds=early_stopping_rounds, evals_result=evals_result, verbose_eval=False)
    best = int(booster.best_iteration)
    best_model = booster[: best + 1]
    gains = best_model.get_score(importance_type="gain")
    total = sum(gains.values()) or 1.0
    importance = {k: v / total for k, v in sorted(gains.items(), key=lambda kv: -kv[1])}
    return SignalFit(best_model, best, rounds, float(evals_result["validation"]["auc"][best]), importance)


def predict(booster: Any, x: pd.DataFrame) -> np.ndarray:
    """P(next bar closes up) for each row."""
    return booster.predict(matrix(x))


def matrix(x: pd.DataFrame, label: np.ndarray | None = None) -> Any:
    """The rows as XGBoost's DMatrix, handed over as one float64 array: the same values XGBoost takes from the
    frame (it stores float32 either way), without its column-by-column reading of a DataFrame, which cost
    more than boosting a daily model's trees."""
    import xgboost as xgb

    return xgb.DMatrix(x.to_numpy(dtype="float64"), label=label, feature_names=list(x.columns))
