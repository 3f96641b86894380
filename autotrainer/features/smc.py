"""Smart-Money-Concepts market structure, computed causally.

The seed marked an order block at the bar where it *formed*, using the close of a later bar: a look-ahead
leak worth about 0.1 AUC. Here every structure is stamped at the bar where it becomes knowable:
- a swing high/low at bar j is confirmed at bar j + SWING_LENGTH, once SWING_LENGTH later bars are lower/higher;
- a break of structure (BOS) or change of character (CHoCH) is the close that crosses a confirmed swing;
- an order block is the last opposite candle before that break, stamped at the break bar;
- a fair value gap between bars t-2 and t is known at the close of bar t.
"Mitigated" and "filled" are tracked forward in time from the stamp bar only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SWING_LENGTH = 5
MAX_OPEN_GAPS = 10
# Gaps and order blocks expire after this many bars (5 trading days of M15), so no column depends on
# bars older than that: the live bot's window then reproduces training's values exactly.
MAX_AGE = 480
NAN = math.nan


COLUMNS = (
    "swing_high_dist", "swing_low_dist", "bars_since_swing_high", "bars_since_swing_low",
    "structure_trend", "bos_up", "bos_down", "choch_up", "choch_down", "bars_since_break",
    "fvg_bull_new", "fvg_bear_new", "fvg_bull_size", "fvg_bear_size", "fvg_bull_open", "fvg_bear_open",
    "fvg_bull_dist", "fvg_bear_dist", "ob_bull_active", "ob_bear_active", "ob_bull_dist", "ob_bear_dist",
)


def smc_features(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Structure columns at each bar, using bars <= that bar only."""
    o, h, l, c = (bars[col].to_numpy(dtype="float64") for col in ("open", "high", "low", "close"))
    swing_high_at, swing_low_at = _confirmed_swings(h, l)
    cols = _scan(o.tolist(), h.tolist(), l.tolist(), c.tolist(), swing_high_at, swing_low_at)
    return {name: np.asarray(values, dtype="float64") for name, values in cols.items()}


def _confirmed_swings(h: np.ndarray, l: np.ndarray) -> tuple[list[bool], list[bool]]:
    """Per bar: does it confirm the swing high (low) SWING_LENGTH bars back, the extreme of its window?"""
    window = 2 * SWING_LENGTH + 1
    high_s, low_s = pd.Series(h), pd.Series(l)
    swing_high_at = (high_s.shift(SWING_LENGTH) == high_s.rolling(window).max()).to_numpy()
    swing_low_at = (low_s.shift(SWING_LENGTH) == low_s.rolling(window).min()).to_numpy()
    return swing_high_at.tolist(), swing_low_at.tolist()


def _scan(ol: list[float], hl: list[float], ll: list[float], cl: list[float], sh_at: list[bool],
          sl_at: list[bool]) -> dict[str, list[float]]:
    """One pass forward in time over plain lists (no call per bar: the costliest built-in), filling the columns."""
    cols = {name: [0.0] * len(cl) for name in COLUMNS}
    trend, last_break = 0, -1
    swing_high = swing_low = NAN
    swing_high_bar = swing_low_bar = -1
    high_broken = low_broken = True
    bull_gaps: list[tuple[float, float, int]] = []  # (bottom, top, bar) of open bullish gaps, newest last
    bear_gaps: list[tuple[float, float, int]] = []
    bull_highest_bottom = bear_lowest_top = NAN  # of the open gaps (NaN: none open)
    bull_ob: tuple[float, float, int] | None = None  # (bottom, top, bar it was stamped at)
    bear_ob: tuple[float, float, int] | None = None
    (swing_high_dist, swing_low_dist, bars_since_swing_high, bars_since_swing_low, structure_trend, bars_since_break,
     fvg_bull_new, fvg_bear_new, fvg_bull_size, fvg_bear_size, fvg_bull_open, fvg_bear_open, fvg_bull_dist,
     fvg_bear_dist, ob_bull_active, ob_bear_active, ob_bull_dist, ob_bear_dist) = (cols[name] for name in (
        "swing_high_dist", "swing_low_dist", "bars_since_swing_high", "bars_since_swing_low", "structure_trend",
        "bars_since_break", "fvg_bull_new", "fvg_bear_new", "fvg_bull_size", "fvg_bear_size", "fvg_bull_open",
        "fvg_bear_open", "fvg_bull_dist", "fvg_bear_dist", "ob_bull_active", "ob_bear_active", "ob_bull_dist",
        "ob_bear_dist"))
    for t in range(len(cl)):
        close = cl[t]
        if sh_at[t]:
            swing_high, swing_high_bar, high_broken = hl[t - SWING_LENGTH], t - SWING_LENGTH, False
        if sl_at[t]:
            swing_low, swing_low_bar, low_broken = ll[t - SWING_LENGTH], t - SWING_LENGTH, False

        # Mitigation of blocks stamped at earlier bars: price trades back into the zone (or they expire).
        if bull_ob is not None and (ll[t] <= bull_ob[1] or t - bull_ob[2] > MAX_AGE):
            bull_ob = None
        if bear_ob is not None and (hl[t] >= bear_ob[0] or t - bear_ob[2] > MAX_AGE):
            bear_ob = None

        if not high_broken and close > swing_high:
            cols["choch_up" if trend == -1 else "bos_up"][t] = 1.0
            trend, high_broken, last_break = 1, True, t
            k = _last_candle(ol, cl, start=max(swing_low_bar, t - 50), end=t, bearish=True)
            bull_ob = (ll[k], hl[k], t) if k >= 0 else None
        elif not low_broken and close < swing_low:
            cols["choch_down" if trend == 1 else "bos_down"][t] = 1.0
            trend, low_broken, last_break = -1, True, t
            k = _last_candle(ol, cl, start=max(swing_high_bar, t - 50), end=t, bearish=False)
            bear_ob = (ll[k], hl[k], t) if k >= 0 else None

        # Fair value gaps: filled once price trades through the far side (or expired). The lists are rebuilt
        # only when some gap goes: its far side was reached (the highest bottom, the lowest top) or the
        # oldest, first in the list, expired.
        if bull_gaps and (ll[t] <= bull_highest_bottom or t - bull_gaps[0][2] > MAX_AGE):
            bull_gaps = [g for g in bull_gaps if ll[t] > g[0] and t - g[2] <= MAX_AGE]
            bull_highest_bottom = max([g[0] for g in bull_gaps], default=NAN)
        if bear_gaps and (hl[t] >= bear_lowest_top or t - bear_gaps[0][2] > MAX_AGE):
            bear_gaps = [g for g in bear_gaps if hl[t] < g[1] and t - g[2] <= MAX_AGE]
            bear_lowest_top = min([g[1] for g in bear_gaps], default=NAN)
        if t >= 2 and ll[t] > hl[t - 2]:
            bull_gaps = (bull_gaps + [(hl[t - 2], ll[t], t)])[-MAX_OPEN_GAPS:]
            bull_highest_bottom = max([g[0] for g in bull_gaps])
            fvg_bull_new[t], fvg_bull_size[t] = 1.0, (ll[t] - hl[t - 2]) / close
        if t >= 2 and hl[t] < ll[t - 2]:
            bear_gaps = (bear_gaps + [(hl[t], ll[t - 2], t)])[-MAX_OPEN_GAPS:]
            bear_lowest_top = min([g[1] for g in bear_gaps])
            fvg_bear_new[t], fvg_bear_size[t] = 1.0, (ll[t - 2] - hl[t]) / close

        swing_high_dist[t] = close / swing_high - 1.0
        swing_low_dist[t] = close / swing_low - 1.0
        bars_since_swing_high[t] = t - swing_high_bar if swing_high_bar >= 0 else NAN
        bars_since_swing_low[t] = t - swing_low_bar if swing_low_bar >= 0 else NAN
        structure_trend[t] = float(trend)
        bars_since_break[t] = t - last_break if last_break >= 0 else NAN
        fvg_bull_open[t], fvg_bear_open[t] = float(len(bull_gaps)), float(len(bear_gaps))
        fvg_bull_dist[t] = close / bull_gaps[-1][1] - 1.0 if bull_gaps else NAN
        fvg_bear_dist[t] = close / bear_gaps[-1][0] - 1.0 if bear_gaps else NAN
        ob_bull_active[t] = 1.0 if bull_ob else 0.0
        ob_bear_active[t] = 1.0 if bear_ob else 0.0
        ob_bull_dist[t] = close / bull_ob[1] - 1.0 if bull_ob else NAN
        ob_bear_dist[t] = close / bear_ob[0] - 1.0 if bear_ob else NAN
    return cols


def _last_candle(opens: list[float], closes: list[float], start: int, end: int, bearish: bool) -> int:
    """Index of the last bearish (or bullish) candle in [start, end), or -1."""
    for k in range(end - 1, max(start, 0) - 1, -1):
        if (closes[k] < opens[k]) if bearish else (closes[k] > opens[k]):
            return k
    return -1
