"""Feature engineering: one function used by training, the audit and the live bot alike.

The value of every column at bar t depends only on bars <= t (tests recompute on truncated data to prove
it). Regime probabilities are added by `autotrainer.models.regime`, because they need a fitted model.
"""

from __future__ import annotations

import pandas as pd

from autotrainer.features.smc import SWING_LENGTH, smc_features
from autotrainer.features.technical import LONGEST_WINDOW, technical_features, time_features

# Rows before this many bars are warm-up (indicators not yet defined) and never used to train or score.
# What the regime HMM observes: the bar's log return and the log of its 20-bar realised volatility.
OBSERVATION_COLUMNS = ("ret_1", "volatility_20")
WARMUP_BARS = max(LONGEST_WINDOW, 2 * SWING_LENGTH + 1)
# From this many bars of history on, the newest bar's features no longer depend on where the series
# starts (EMA 100 has decayed below 1e-7, gaps and order blocks expire): what the live bot must pass so
# it computes the same values training did. tests/bot/test_live.py measures it on the real bars.
FEATURE_MEMORY_BARS = 1200


def compute_features(bars: pd.DataFrame) -> pd.DataFrame:
    """All built-in feature columns for validated bars, on the bars' index."""
    columns = technical_features(bars)
    columns.update(smc_features(bars))
    columns.update(time_features(bars["time"]))
    return pd.DataFrame(columns, index=bars.index)
