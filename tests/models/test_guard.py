"""The out-of-distribution guard on real bars: a shock the model never saw is withheld, its own bars are not."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from autotrainer.config import Settings
from autotrainer.errors import ModelStoreError
from autotrainer.live import min_bars, predict_latest
from autotrainer.models.guard import bins_of, drift, guard_bytes, guard_from_bytes, guard_scores
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle


def shocked(bars: pd.DataFrame, factor: float = 10.0) -> pd.DataFrame:
    """The same bars with every move `factor` times larger: each bar's open, high, low and close are moved
    away from the previous (shocked) close by `factor` times their real log-distance from the real one."""
    out = bars.copy()
    log_close = np.log(bars["close"].to_numpy())
    new_close = log_close[0] + np.concatenate([[0.0], np.cumsum(factor * np.diff(log_close))])
    previous, new_previous = np.r_[log_close[0], log_close[:-1]], np.r_[new_close[0], new_close[:-1]]
    for column in ("open", "high", "low", "close"):
        out[column] = np.exp(new_previous + factor * (np.log(bars[column].to_numpy()) - previous))
    return out


def training_bars(bundle: object, frame: pd.DataFrame) -> pd.DataFrame:
    data = bundle.manifest["data"]
    return frame[(frame["time"] >= pd.Timestamp(data["start"])) & (frame["time"] <= pd.Timestamp(data["end"]))]


def test_a_tenfold_volatility_shock_is_withheld_on_every_bar_and_the_training_bars_about_one_percent(
        published_pair: Settings, sample_frame: pd.DataFrame, caplog: pytest.LogCaptureFixture) -> None:
    bundle = load_bundle(published_pair.models_dir)
    threshold = bundle.guard["threshold"]
    own = training_bars(bundle, sample_frame).reset_index(drop=True)
    before_test = bundle.probabilities(own)
    before_test = before_test[before_test["time"] < pd.Timestamp(bundle.manifest["data"]["test_start"])]
    share = float((before_test["guard_score"] > threshold).mean())
    assert share <= 0.015  # fit rows never lie beyond their own tails; 1% of the validation rows do
    shock = bundle.probabilities(shocked(own))
    assert len(shock) > 2000 and bool((shock["guard_score"] > threshold).all())
    # Scale-free features: the same bars at twice the price score exactly as the real ones.
    doubled = own.assign(**{c: own[c] * 2 for c in ("open", "high", "low", "close")})
    np.testing.assert_allclose(bundle.probabilities(doubled)["guard_score"], bundle.probabilities(own)["guard_score"],
                               atol=1e-6)
    # Through the bot's API: HOLD with the reason, one warning however many bars.
    window = shocked(own).iloc[-min_bars(bundle) - 5:].reset_index(drop=True)
    with caplog.at_level(logging.WARNING, logger="autotrainer.live"):
        signals = [predict_latest(bundle, window.iloc[i:i + min_bars(bundle)].reset_index(drop=True)) for i in range(3)]
    assert all(s.action == "HOLD" and s.withheld and "unlike the training data" in s.withheld for s in signals)
    assert all(s.guard_score > threshold for s in signals)
    assert sum("unlike the training data" in r.getMessage() for r in caplog.records) == 1


def test_the_summary_is_small_verified_json_and_scores_like_training(published_pair: Settings) -> None:
    bundle = load_bundle(published_pair.models_dir)
    entry = bundle.manifest["files"]["guard"]
    raw = (published_pair.models_dir / entry["name"]).read_bytes()
    assert len(raw) == entry["bytes"] < 40_000 and store.sha256_bytes(raw) == entry["sha256"]
    summary = json.loads(raw)
    assert set(summary["columns"]) == set(bundle.features) and summary["threshold"] == bundle.manifest["guard"]["threshold"]
    assert guard_from_bytes(guard_bytes(summary), bundle.features) == summary
    with pytest.raises(ModelStoreError, match="not an autotrainer guard"):
        guard_from_bytes(guard_bytes({**summary, "threshold": float("nan")}), bundle.features)
    with pytest.raises(ModelStoreError, match="cannot be read"):
        guard_from_bytes(b"\x80not json", bundle.features)


def test_drift_is_none_on_the_training_bars_and_large_on_the_shock(published_pair: Settings,
                                                                  sample_frame: pd.DataFrame) -> None:
    bundle = load_bundle(published_pair.models_dir)
    own = training_bars(bundle, sample_frame).reset_index(drop=True)
    matrix, scored = bundle.scored(own)
    fit = bundle.manifest["metrics"]["split"]["fit"]
    same = drift(bundle.guard, bins_of(bundle.guard, matrix.iloc[:fit]), scored["guard_score"].iloc[:fit])
    assert same["drift_share"] == 0.0 and same["guard_withheld_share"] == 0.0 and same["psi_max"] < 0.05
    matrix, scored = bundle.scored(shocked(own))
    moved = drift(bundle.guard, bins_of(bundle.guard, matrix), scored["guard_score"])
    assert moved["drift_share"] > 0.2 and moved["guard_withheld_share"] == 1.0
    assert {"volatility_50", "atr_14_pct"} <= set(moved["drifted"])
    few = drift(bundle.guard, bins_of(bundle.guard, matrix.iloc[:20]), scored["guard_score"].iloc[:20])
    assert few["drift_share"] is None and "at least 100" in few["drift_note"]
    assert guard_scores(bundle.guard, matrix.iloc[:3]).shape == (3,)


def _psi_one_column_at_a_time(summary: dict, bins: np.ndarray) -> dict[str, float]:
    """The PSI as its definition reads, one column at a time: the reference for the grouped arithmetic."""
    result = {}
    for j, (name, column) in enumerate(summary["columns"].items()):
        present = bins[:, j][bins[:, j] >= 0]
        if len(present):
            expected = np.maximum(np.array(column["shares"]), 1e-4)
            actual = np.maximum(np.bincount(present, minlength=len(expected)) / len(present), 1e-4)
            result[name] = round(float(np.sum((actual - expected) * np.log(actual / expected))), 6)
    return result


def test_grouped_psi_and_a_sliding_windows_counts_equal_counting_each_window_column_by_column(
        published_pair: Settings, sample_frame: pd.DataFrame) -> None:
    from autotrainer.models.guard import bin_counts, psi, psi_of_counts
    from autotrainer.replay.guard import SlidingCounts

    bundle = load_bundle(published_pair.models_dir)
    matrix, _ = bundle.scored(sample_frame.iloc[-6000:].reset_index(drop=True))
    bins = bins_of(bundle.guard, matrix)
    assert len({len(c["shares"]) for c in bundle.guard["columns"].values()}) > 1  # several groups of bin counts
    sliding = SlidingCounts()
    for start, stop in [(0, 150), (0, 400), (37, 404), (400, 2400), (100, 300), (2390, 5999), (2390, 5999)]:
        reference = _psi_one_column_at_a_time(bundle.guard, bins[start:stop])
        assert psi(bundle.guard, bins[start:stop]) == reference
        counts = sliding.of(bundle.guard, bins, start, stop)
        np.testing.assert_array_equal(counts, bin_counts(bundle.guard, bins[start:stop]))
        assert psi_of_counts(bundle.guard, counts, sliding.table) == reference
