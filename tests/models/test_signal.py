"""The signal model's validation is honest: ordered slices with gaps, and the test slice never shapes the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autotrainer.errors import InsufficientDataError
from autotrainer.features.target import make_target
from autotrainer.metrics import auc_with_ci, midranks, publish_verdict
from autotrainer.models.inputs import design_matrix, feature_rows
from autotrainer.models.regime import fit_regime_model
from autotrainer.models.signal import chronological_split, fit_signal_model, xgb_params


def test_split_is_chronological_with_embargo_gaps() -> None:
    split = chronological_split(7899, train_ratio=0.7, validation_ratio=0.2, embargo=101)
    assert split.fit.start == 0
    assert split.validation.start - split.fit.stop == 101
    assert split.test.start - split.validation.stop == 101
    assert split.test.start == round(7899 * 0.7) and split.test.stop == 7899
    assert split.sizes() == {"fit": 4241, "validation": 1086, "test": 2370, "embargo": 101}


def test_split_refuses_slices_too_small_to_mean_anything() -> None:
    with pytest.raises(InsufficientDataError, match="cannot hold fit, validation and test slices"):
        chronological_split(400, train_ratio=0.7, validation_ratio=0.2, embargo=101)


def test_test_labels_never_influence_the_model(sample_frame: pd.DataFrame) -> None:
    frame = sample_frame.iloc[-4000:].reset_index(drop=True)
    features = feature_rows(frame)
    y = make_target(frame, 1).loc[features.index]
    features, y = features[y.notna()], y[y.notna()].to_numpy()
    split = chronological_split(len(features), 0.7, 0.2, 101)
    matrix = design_matrix(features, fit_regime_model(features.iloc[: split.validation.stop], 3, 500, 30, 42))
    params = xgb_params(4, 0.1, 42)
    honest = fit_signal_model(matrix, y, split, 30, 5, params)
    scrambled = y.copy()
    scrambled[split.test] = 1.0 - scrambled[split.test]  # flip every test label
    again = fit_signal_model(matrix, scrambled, split, 30, 5, params)
    assert bytes(honest.booster.save_raw("ubj")) == bytes(again.booster.save_raw("ubj"))
    assert honest.best_iteration == again.best_iteration
    # ...whereas the validation slice does steer early stopping.
    scrambled_val = y.copy()
    scrambled_val[split.validation] = 1.0 - scrambled_val[split.validation]
    steered = fit_signal_model(matrix, scrambled_val, split, 30, 5, params)
    assert steered.validation_auc != pytest.approx(honest.validation_auc)


def test_auc_interval_matches_sklearn_and_bootstrap() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2400)
    scores = np.round(rng.random(2400) + 0.15 * y, 2)  # ties included
    result = auc_with_ci(y, scores)
    assert result.auc == pytest.approx(roc_auc_score(y, scores), abs=1e-12)
    boot = []
    for _ in range(400):
        i = rng.integers(0, len(y), len(y))
        boot.append(roc_auc_score(y[i], scores[i]))
    assert (result.high - result.low) / 2 == pytest.approx(1.96 * np.std(boot), rel=0.15)


def test_midranks_are_scipys_average_ranks_bit_for_bit(sample_frame: pd.DataFrame) -> None:
    """The DeLong interval's ranks: real closes (many ties at the cent), their returns, and edge cases."""
    from scipy.stats import rankdata

    close = sample_frame["close"].to_numpy(dtype="float64")
    for values in (close[-3000:], np.diff(np.log(close[-800:])), np.round(close[-500:], 0), np.zeros(7),
                   np.array([2.5]), np.array([-0.0, 0.0, 1.0])):
        np.testing.assert_array_equal(midranks(values), rankdata(values))


def test_verdict_follows_the_seed_thresholds() -> None:
    assert publish_verdict(0.70, 0.52, 0.65) == "success"
    assert publish_verdict(0.65, 0.52, 0.65) == "success"
    assert publish_verdict(0.60, 0.52, 0.65) == "warning"
    assert publish_verdict(0.52, 0.52, 0.65) == "warning"
    assert publish_verdict(0.519, 0.52, 0.65) == "rolled_back"
    assert publish_verdict(float("nan"), 0.52, 0.65) == "rolled_back"
