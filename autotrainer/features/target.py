"""The label: does the close `lookahead` bars ahead finish above this bar's close (1) or not (0)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def make_target(bars: pd.DataFrame, lookahead: int) -> pd.Series:
    """1.0 / 0.0 per bar; NaN for the last `lookahead` bars, which have no future and are dropped, never filled."""
    close = bars["close"].to_numpy(dtype="float64")
    target = np.full(len(close), np.nan)
    target[:-lookahead] = (close[lookahead:] > close[:-lookahead]).astype("float64")
    return pd.Series(target, index=bars.index, name="target")
