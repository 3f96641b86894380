"""Champion vs challenger on evidence: the paired DeLong test, and how often it gets the decision right."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import learnable_bars

from autotrainer.features.target import make_target
from autotrainer.jobs.champion import judge
from autotrainer.metrics import auc_with_ci, paired_auc
from autotrainer.models.inputs import feature_rows
from autotrainer.models.signal import Split, fit_signal_model, predict, xgb_params

TRIALS = 100
STRETCH = 3000  # bars a challenger trains on
TEST_START = 12_000  # the shared test window both models are scored on: rows 12,000 to the end
# Ten of the built-in columns keep 200 fits quick; the decision under test only sees the two score vectors.
COLUMNS = ["candle_body", "ret_1", "ret_5", "rsi_14", "volatility_20", "range_to_atr", "candle_close_position",
           "hour_sin", "ema_9_dist", "bb_width"]


def test_paired_delong_variance_agrees_with_a_paired_bootstrap() -> None:
    rng = np.random.default_rng(11)
    n = 2500
    signal = rng.normal(size=n)
    y = (signal + rng.normal(scale=2.5, size=n)) > 0
    a = signal + rng.normal(scale=0.4, size=n)  # two strongly correlated scorers of different skill
    b = signal + rng.normal(scale=0.7, size=n)
    paired = paired_auc(y, a, b)
    differences = []
    for _ in range(3000):
        rows = rng.integers(0, n, n)  # resample bars, keeping both models' scores of each bar together
        differences.append(auc_with_ci(y[rows], a[rows]).auc - auc_with_ci(y[rows], b[rows]).auc)
    assert paired.se == pytest.approx(float(np.std(differences, ddof=1)), rel=0.08)
    assert paired.difference == pytest.approx(auc_with_ci(y, a).auc - auc_with_ci(y, b).auc, abs=1e-12)
    # Pairing matters: the unpaired variance (as if the two were scored on different bars) is far larger.
    unpaired = np.hypot((auc_with_ci(y, a).high - auc_with_ci(y, a).low) / 3.92,
                        (auc_with_ci(y, b).high - auc_with_ci(y, b).low) / 3.92)
    assert paired.se < 0.7 * unpaired


@pytest.fixture(scope="module")
def synthetic(sample_frame: pd.DataFrame) -> dict[str, Any]:
    """Learnable bars (75% of bars follow the previous bar's direction), their features and target."""
    bars = learnable_bars(sample_frame, 0.0, seed=5)
    features = feature_rows(bars)
    target = make_target(bars, 1).loc[features.index].to_numpy()
    keep = ~np.isnan(target)
    return {"x": features.loc[keep, COLUMNS].reset_index(drop=True), "y": target[keep]}


def _fit(x: pd.DataFrame, y: np.ndarray, start: int, shuffle_seed: int | None = None) -> Any:
    """A model trained on rows start..start+STRETCH with early stopping on its last 500 rows."""
    rows = slice(start, start + STRETCH)
    labels = y[rows].copy()
    if shuffle_seed is not None:
        np.random.default_rng(shuffle_seed).shuffle(labels)
    split = Split(slice(0, STRETCH - 600), slice(STRETCH - 500, STRETCH), slice(STRETCH, STRETCH), 100)
    return fit_signal_model(x.iloc[rows], labels, split, 20, 5, xgb_params(4, 0.1, 42)).booster


@pytest.fixture(scope="module")
def trials(synthetic: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """100 champion/challenger pairs, each trained on its own stretch of the same process (the challenger's
    after the champion's), and a challenger of the same stretch trained on shuffled labels; all scored on
    the shared test rows."""
    x, y = synthetic["x"], synthetic["y"]
    test = slice(TEST_START, len(y))
    span = (TEST_START - 200 - 2 * STRETCH) // 2  # champion and challenger stretches never overlap
    out = []
    for trial, start in enumerate(np.linspace(0, span, TRIALS).astype(int)):
        challenger_start = int(start) + STRETCH + span
        out.append({"y": y[test], "champion": predict(_fit(x, y, int(start)), x.iloc[test]),
                    "same": predict(_fit(x, y, challenger_start), x.iloc[test]),
                    "shuffled": predict(_fit(x, y, challenger_start, shuffle_seed=trial), x.iloc[test])})
    return out


def _published(trials: list[dict[str, np.ndarray]], challenger: str, rule: str) -> int:
    return sum(judge(t["y"], t[challenger], t["champion"], rule, 0.05, 0.0).wins for t in trials)


def test_a_challenger_as_good_as_the_champion_is_published_at_least_90_times_in_100(trials: list) -> None:
    published = _published(trials, "same", "delong")
    assert published >= 90, f"only {published} of {TRIALS} equally good challengers published"
    # The plain rule decides these on noise: it rejects about a third of them.
    assert _published(trials, "same", "tolerance") <= 85  # 69 of 100 here


def test_a_challenger_trained_on_shuffled_labels_is_rejected_at_least_95_times_in_100(trials: list) -> None:
    rejected = TRIALS - _published(trials, "shuffled", "delong")
    assert rejected >= 95, f"only {rejected} of {TRIALS} worse challengers rejected"


def test_the_tolerance_rule_still_compares_point_estimates() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(2000) < 0.5
    champion = rng.random(2000) + y * 0.05
    slightly_worse = champion + rng.normal(scale=0.05, size=2000)  # noise, not demonstrably worse
    judged = judge(y, slightly_worse, champion, "delong", 0.05, 0.0)
    plain = judge(y, slightly_worse, champion, "tolerance", 0.05, 0.0)
    assert judged.paired.difference < 0 and judged.p_value > 0.05 and judged.wins
    assert not plain.wins and "rule 'tolerance'" in plain.detail
    assert judge(y, slightly_worse, champion, "tolerance", 0.05, 0.5).wins  # the margin still widens it
