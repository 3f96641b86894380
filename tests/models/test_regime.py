"""The regime model: volatility-ordered names, a causal forward filter equal to the bot's window, JSON storage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from autotrainer.models.inputs import feature_rows
from autotrainer.models.regime import (
    RegimeModel,
    _log_emissions,
    fit_regime_model,
    observations,
    regime_probabilities,
    windowed_filter,
)


@pytest.fixture(scope="module")
def features(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return feature_rows(sample_frame.iloc[-8000:].reset_index(drop=True))


@pytest.fixture(scope="module")
def model(features: pd.DataFrame) -> RegimeModel:
    return fit_regime_model(features.iloc[:5000], n_states=3, lookback=500, max_iter=30, seed=42)


def test_states_are_named_and_ordered_by_volatility(model: RegimeModel, features: pd.DataFrame) -> None:
    assert model.state_names == ["low", "medium", "high"]
    assert list(model.means[:, 1]) == sorted(model.means[:, 1])  # mean log-volatility rises
    probabilities = regime_probabilities(model, features)
    winner = probabilities.to_numpy().argmax(axis=1)
    realised = features["volatility_20"].to_numpy()
    by_state = [np.median(realised[winner == s]) for s in range(3)]
    assert by_state == sorted(by_state)  # the bars labelled "high" really are the most volatile


def test_names_survive_a_refit_on_other_data(features: pd.DataFrame, model: RegimeModel) -> None:
    other = fit_regime_model(features.iloc[2000:7000], n_states=3, lookback=500, max_iter=30, seed=7)
    mine = regime_probabilities(model, features).to_numpy().argmax(axis=1)
    theirs = regime_probabilities(other, features).to_numpy().argmax(axis=1)
    assert (mine == theirs).mean() > 0.7  # same name, same meaning


def test_filter_equals_hmmlearn_on_the_bots_window(model: RegimeModel, features: pd.DataFrame) -> None:
    from hmmlearn.hmm import GaussianHMM

    reference = GaussianHMM(3, covariance_type="full")
    reference.startprob_, reference.transmat_ = model.startprob, model.transmat
    reference.means_, reference.covars_ = model.means, model.covars
    x = (observations(features) - model.center) / model.scale
    ours = regime_probabilities(model, features).to_numpy()
    for t in (0, 37, 499, 500, 2500, len(x) - 1):
        # For the last bar of a window, the smoothed posterior *is* the filtered one: no future inside.
        expected = reference.predict_proba(x[max(0, t - 499): t + 1])[-1]
        np.testing.assert_allclose(ours[t], expected, atol=1e-10)


def test_probabilities_do_not_change_when_the_future_is_removed(model: RegimeModel, features: pd.DataFrame) -> None:
    full = regime_probabilities(model, features).to_numpy()
    for cut in (120, 1500, 6000):
        np.testing.assert_allclose(regime_probabilities(model, features.iloc[:cut]).to_numpy(), full[:cut], atol=1e-12)


def test_bot_with_exactly_lookback_rows_sees_the_same_regime(model: RegimeModel, features: pd.DataFrame) -> None:
    full = regime_probabilities(model, features).to_numpy()
    window = features.iloc[3000 - 499: 3001]
    np.testing.assert_allclose(regime_probabilities(model, window).to_numpy()[-1], full[3000], atol=1e-12)
    # Windows shorter than the lookback (the first rows of a training set) have already forgotten their start.
    shorter = regime_probabilities(dataclasses.replace(model, lookback=150), features).to_numpy()
    np.testing.assert_allclose(shorter[500:], full[500:], atol=1e-9)


def _each_window_filtered(startprob: np.ndarray, transmat: np.ndarray, emission: np.ndarray,
                          lookback: int) -> np.ndarray:
    """The definition, row by row: a fresh forward filter over each row's own window."""
    out = np.empty_like(emission)
    for t in range(len(emission)):
        alpha = startprob * emission[max(0, t - lookback + 1)]
        for row in emission[max(0, t - lookback + 1) + 1: t + 1]:
            alpha = (alpha / alpha.sum()) @ transmat * row
        out[t] = alpha / alpha.sum()
    return out


@pytest.mark.parametrize("rows, lookback", [(1, 500), (37, 500), (120, 40), (160, 40), (161, 40), (250, 1), (250, 2),
                                            (333, 7)])
def test_block_filter_equals_filtering_every_window(model: RegimeModel, features: pd.DataFrame, rows: int,
                                                    lookback: int) -> None:
    """The block products (`windowed_filter`) against the definition, on the real bars' emissions, for windows
    shorter than, equal to and one row past whole blocks, and for emissions that are exactly 0 for a state."""
    x = (observations(features.iloc[2000: 2000 + rows]) - model.center) / model.scale
    log_b = _log_emissions(model, x)
    emission = np.exp(log_b - log_b.max(axis=1, keepdims=True))
    emission[::5, 2] = 0.0  # a state the bar rules out entirely
    expected = _each_window_filtered(model.startprob, model.transmat, emission, lookback)
    np.testing.assert_allclose(windowed_filter(model.startprob, model.transmat, emission, lookback), expected,
                               rtol=1e-12, atol=1e-300)


def test_block_filter_keeps_its_precision_when_every_bar_contradicts_the_last() -> None:
    """The worst case for the products' scale: transitions at the 1e-9 floor and an emission that moves the only
    plausible state at every bar, so each step keeps ~1e-9 of the mass (rescaled every RESCALE_EVERY steps): no
    row loses all its mass, and only probabilities below ~1e-290 may round to 0."""
    stay = np.full((3, 3), 1e-9) + np.eye(3) * (1 - 2e-9)
    emission = np.zeros((700, 3))
    emission[np.arange(700), np.arange(700) % 3] = 1.0
    emission[::7] += 1e-300  # and a few bars every state barely explains
    expected = _each_window_filtered(np.full(3, 1 / 3), stay, emission, 250)
    filtered = windowed_filter(np.full(3, 1 / 3), stay, emission, 250)
    np.testing.assert_allclose(filtered, expected, rtol=1e-12, atol=1e-280)
    np.testing.assert_allclose(filtered.sum(axis=1), 1.0, rtol=1e-15)


def test_json_round_trip_is_exact_and_not_a_pickle(model: RegimeModel, features: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "hmm.json"
    model.save(path)
    assert path.read_bytes().lstrip().startswith(b"{")
    again = RegimeModel.load(path)
    pd.testing.assert_frame_equal(regime_probabilities(again, features), regime_probabilities(model, features))
    assert again.to_json() == model.to_json()
