"""Features: causal (truncation test on the real bars), scale-free, enough of them; and the target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from autotrainer.features import WARMUP_BARS, compute_features
from autotrainer.features.target import make_target

CUTS = [250, 1_111, 4_000, 7_777, 11_500, 14_999]


@pytest.fixture(scope="module")
def full(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return compute_features(sample_frame)


def test_at_least_forty_features_of_every_family(full: pd.DataFrame) -> None:
    assert full.shape[1] >= 40
    for family in ("ret_", "volatility_", "atr_", "rsi_", "macd", "bb_", "ema_9_21_cross", "candle_", "volume_",
                   "session_", "hour_", "swing_", "bos_", "choch_", "fvg_", "ob_"):
        assert any(c.startswith(family) for c in full.columns), family


@pytest.mark.parametrize("cut", CUTS)
def test_no_feature_changes_when_the_future_is_removed(sample_frame: pd.DataFrame, full: pd.DataFrame, cut: int) -> None:
    prefix = compute_features(sample_frame.iloc[:cut])
    same = np.isclose(prefix.to_numpy(), full.iloc[:cut].to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True)
    changed = {col: int((~same[:, j]).sum()) for j, col in enumerate(full.columns) if not same[:, j].all()}
    assert changed == {}, f"features that look into the future at cut {cut}: {changed}"


def test_features_are_scale_free(sample_frame: pd.DataFrame, full: pd.DataFrame) -> None:
    doubled = sample_frame.assign(**{c: sample_frame[c] * 2.0 for c in ("open", "high", "low", "close")})
    again = compute_features(doubled)
    rows = slice(WARMUP_BARS, None)
    same = np.isclose(again.iloc[rows].to_numpy(), full.iloc[rows].to_numpy(), rtol=1e-6, atol=1e-9, equal_nan=True)
    assert [c for j, c in enumerate(full.columns) if not same[:, j].all()] == []


def test_indicator_columns_are_defined_after_warmup(full: pd.DataFrame) -> None:
    optional = {c for c in full.columns if c.startswith(("fvg_", "ob_", "swing_", "bars_since"))}
    after = full.iloc[WARMUP_BARS:].drop(columns=sorted(optional))
    assert after.isna().sum().sum() == 0


def test_order_blocks_are_stamped_at_the_break_not_where_they_formed(sample_frame: pd.DataFrame, full: pd.DataFrame) -> None:
    # An order block becomes active exactly on a bar with a bullish break (BOS or CHoCH), never before it.
    became_active = (full["ob_bull_active"].diff() == 1).to_numpy()
    breaks = ((full["bos_up"] + full["choch_up"]) > 0).to_numpy()
    assert became_active.sum() > 50
    assert not (became_active & ~breaks).any()


def test_target_is_next_close_up_and_never_filled(sample_frame: pd.DataFrame) -> None:
    close = sample_frame["close"]
    y = make_target(sample_frame, 1)
    assert y.iloc[:-1].tolist() == (close.shift(-1) > close).iloc[:-1].astype(float).tolist()
    assert y.iloc[-1:].isna().all()
    y3 = make_target(sample_frame, 3)
    assert y3.iloc[-3:].isna().all() and y3.iloc[:-3].notna().all()
    assert y3.iloc[100] == float(close.iloc[103] > close.iloc[100])
