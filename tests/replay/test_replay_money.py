"""The replay's money (issue 17): each served model's signals at its own threshold, net of each bar's spread,
against always-long and no-trade; and the skip's saving, with the published models unchanged."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from autotrainer.config import load_settings
from autotrainer.data.costs import bar_costs
from autotrainer.replay.money import cumulative_net, edge_numbers, served_sides
from autotrainer.replay.simulate import ReplayRun, run_replay
from autotrainer.replay.summary import summarise

FAST = {"initial_bars": 3000, "daily_bars": 3000, "weekend_bars": 4000, "emergency_bars": 3000,
        "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
        "min_bars": 1000, "source": "sample"}


def _run(close: list[float], spread: float, manifests: list[dict], **settings: object) -> ReplayRun:
    frame = pd.DataFrame({"close": close, "spread": spread})
    times = pd.Series(pd.date_range("2025-12-01", periods=len(close), freq="15min", tz="UTC"))
    run = ReplayRun(load_settings(None, settings, env={}), Path("."), times.iloc[0], times.iloc[-1], times, times,
                    np.zeros(len(close)), frame["close"].to_numpy(dtype="float64"), frame["spread"].to_numpy(dtype="float64"),
                    bar_costs(frame, 0.01, 14.0))
    run.trained = [SimpleNamespace(candidate=SimpleNamespace(manifest=m)) for m in manifests]
    return run


def test_each_model_signals_at_its_own_threshold() -> None:
    run = _run([100.0] * 6, 10, [{"confidence_threshold": 0.6}, {"confidence_threshold": 0.52}])
    model = np.array([0, 0, 0, 1, 1, -1])
    p_up = np.array([0.55, 0.61, 0.39, 0.55, 0.47, 0.9])
    sides, thresholds = served_sides(run, model, p_up)
    assert list(sides[:5]) == [0.5, 1.0, 0.0, 1.0, 0.0] and np.isnan(sides[5])
    assert thresholds == [0.52, 0.6]


def test_a_spread_larger_than_every_move_is_losing_after_costs_and_always_long_pays_it_too() -> None:
    rng = np.random.default_rng(3)
    close = list(2000 + np.cumsum(rng.choice([-0.05, 0.05], size=400)))
    run = _run(close, 50, [{"confidence_threshold": 0.6}])  # 50 points = 0.50 a trade, moves are 0.05
    sides = np.where(np.arange(400) % 2 == 0, 1.0, 0.0)  # a model that signals on every bar
    rows = np.ones(400, dtype=bool)
    numbers = edge_numbers(run, sides, rows, [0.6])
    assert numbers["edge_verdict"] == "losing after costs" and numbers["edge_high"] < 0
    assert numbers["edge_signals"] == 399 and numbers["edge_threshold"] == 0.6  # the last bar has no horizon
    moves = np.diff(np.array(close))
    assert numbers["edge_always_long_total"] == round(float((moves - 0.5).sum()), 6)
    assert numbers["edge_no_trade_total"] == 0.0
    money = cumulative_net(run, sides, rows)
    assert round(float(money["signals"][-1]), 6) == numbers["edge_total"]
    assert round(float(money["always_long"][-1]), 6) == numbers["edge_always_long_total"]


def test_a_weekend_of_initial_retries_on_unchanged_bars_is_skipped_and_publishes_the_same(tmp_path: Path) -> None:
    """No model passes the floor, so an initial retrain is retried every emergency_min_hours: over the weekend no
    bar closes, and every retry after the first would train the same model again."""
    start, end = datetime(2025, 11, 7, 18, 0, tzinfo=timezone.utc), datetime(2025, 11, 9, 23, 0, tzinfo=timezone.utc)
    summaries = {}
    for skip in (True, False):
        settings = load_settings(None, {**FAST, "publish_floor_auc": 0.99, "min_auc_threshold": 0.99, "emergency_min_hours": 8,
                                        "skip_unchanged": skip}, env={})
        summaries[skip] = summarise(run_replay(settings, tmp_path / str(skip), start, end))
    skipping, training = summaries[True], summaries[False]
    assert skipping["retrains"] == training["retrains"] and training["retrains"]["initial"] >= 4
    # the retries before Friday's last bar closed trained on new bars; every one after it is skipped
    assert skipping["skipped_unchanged"] == skipping["outcomes"]["skipped"] >= 4
    assert skipping["outcomes"]["rejected"] + skipping["skipped_unchanged"] == training["retrains"]["initial"]
    assert training["skipped_unchanged"] == 0 and training["outcomes"] == {"rejected": training["retrains"]["initial"]}
    assert skipping["published_models"] == training["published_models"]
