"""Two servings compared on the same bars: each bar's net return, and a verdict whose words follow the sign of
the differences' intervals (only an interval wholly on one side of zero is a difference)."""

from __future__ import annotations

import numpy as np
import pytest

from autotrainer.replay.paired import compare, net_per_row


def test_each_bar_earns_its_move_in_the_signals_direction_less_its_spread() -> None:
    close = np.array([100.0, 101.0, 100.5, 100.5, 102.0])
    spread = np.array([10.0, 20.0, 10.0, 10.0, 10.0])  # points of 0.01
    sides = np.array([1.0, 0.0, 0.5, np.nan, 1.0])  # BUY, SELL, none, no model, BUY without a next bar
    net = net_per_row(close, spread, sides, 1, 0.01, 0.05)
    assert net[:3] == pytest.approx([1.0 - 0.15, 0.5 - 0.25, 0.0])
    assert np.isnan(net[3]) and np.isnan(net[4])


def _bars(seed: int, rows: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.random(rows) < 0.5).astype("float64"), rng.random(rows)


@pytest.mark.parametrize("better", [True, False])
def test_a_serving_that_ranks_and_earns_better_beats_and_the_other_does_worse(better: bool) -> None:
    y, noise = _bars(1)
    informed = np.clip(0.5 + 0.3 * (y - 0.5) + 0.2 * (noise - 0.5), 0, 1)  # knows the outcome in part
    earned, nothing = np.where(y == 1, 1.0, -0.2), np.zeros(len(y))
    p_a, p_b, net_a, net_b = (informed, noise, earned, nothing) if better else (noise, informed, nothing, earned)
    paired = compare("policy", "keep_first", y, p_a, p_b, net_a, net_b, np.ones(len(y), dtype=bool), 1)
    sign = 1 if better else -1
    assert paired.rows == len(y) and paired.verdict == sign
    for difference in (paired.auc, paired.net_per_bar, paired.net_total):
        assert difference.direction == sign
        assert difference.low <= difference.value <= difference.high
        assert (difference.low > 0) if better else (difference.high < 0)
    assert paired.net_total.value == pytest.approx((net_a - net_b).sum())
    sentence = paired.sentence("Retraining", "keeping the first model")
    assert sentence.startswith("Retraining beat keeping" if better else "Retraining did worse than keeping")
    assert paired.to_json()["verdict"] == sign


def test_the_same_model_on_both_sides_did_not_beat_with_a_zero_difference() -> None:
    y, p = _bars(2)
    net = np.where(p > 0.6, np.where(y == 1, 0.5, -0.5), 0.0)
    rows = np.arange(len(y)) >= 100  # only these bars are compared
    paired = compare("policy", "keep_first", y, p, p, net, net, rows, 1)
    assert paired.rows == len(y) - 100 and paired.verdict == 0
    assert paired.auc.value == 0.0 and paired.net_total.value == 0.0 and paired.auc.direction == 0
    assert "did not beat" in paired.sentence("Retraining", "keeping the first model")


def test_an_interval_across_zero_is_no_evidence_whatever_the_point_says() -> None:
    y, noise = _bars(3, 400)
    rng = np.random.default_rng(4)
    net_a, net_b = rng.normal(0.01, 1.0, len(y)), rng.normal(0.0, 1.0, len(y))
    paired = compare("policy", "publish_every", y, noise, rng.random(len(y)), net_a, net_b,
                     np.ones(len(y), dtype=bool), 1)
    assert paired.net_total.low < 0 < paired.net_total.high and paired.auc.low < 0 < paired.auc.high
    assert paired.verdict == 0 and " did not beat " in paired.sentence("The policy", "publishing every retrain")
