"""Feature engineering: one function used by training, the audit and the live bot alike.

The value of every column at bar t depends only on bars <= t (tests recompute on truncated data to prove
it). Regime probabilities are added by `autotrainer.regime`, because they need a fitted model.
"""

from __future__ import annotations

import pandas as pd

from autotrainer.features.smc import SWING_LENGTH, smc_features
from autotrainer.features.technical import LONGEST_WINDOW, technical_features, time_features

# Rows before this many bars are warm-up (indicators not yet defined) and never used to train or score.
WARMUP_BARS = max(LONGEST_WINDOW, 2 * SWING_LENGTH + 1)


def compute_features(bars: pd.DataFrame) -> pd.DataFrame:
    """All built-in feature columns for validated bars, on the bars' index."""
    columns = technical_features(bars)
    columns.update(smc_features(bars))
    columns.update(time_features(bars["time"]))
    return pd.DataFrame(columns, index=bars.index)
