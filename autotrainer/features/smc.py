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
from dataclasses import dataclass, field
from typing import Any

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
    found = _scan(o.tolist(), h.tolist(), l.tolist(), c.tolist(), swing_high_at.tolist(), swing_low_at.tolist())
    n, bar = len(c), np.arange(len(c))
    cols = {name: np.zeros(n) for name in COLUMNS}
    for side, at, prices in (("high", swing_high_at, h), ("low", swing_low_at, l)):
        confirmed = np.flatnonzero(at)  # the swing SWING_LENGTH bars back, known from this bar on
        swing_bar = _stepped(n, confirmed, confirmed - SWING_LENGTH, -1.0)
        cols[f"swing_{side}_dist"] = c / _stepped(n, confirmed, prices[confirmed - SWING_LENGTH], NAN) - 1.0
        cols[f"bars_since_swing_{side}"] = np.where(swing_bar >= 0, bar - swing_bar, NAN)
    for name, events in found.flags.items():
        cols[name][[t for t, _ in events]] = [value for _, value in events]
    breaks = [t for t, _ in found.trend]
    cols["structure_trend"] = _stepped(n, breaks, [trend for _, trend in found.trend], 0.0)
    last_break = _stepped(n, breaks, breaks, -1.0)
    cols["bars_since_break"] = np.where(last_break >= 0, bar - last_break, NAN)
    for side, changes in found.gaps.items():
        times = [t for t, _, _ in changes]
        cols[f"fvg_{side}_open"] = _stepped(n, times, [count for _, count, _ in changes], 0.0)
        cols[f"fvg_{side}_dist"] = c / _stepped(n, times, [edge for _, _, edge in changes], NAN) - 1.0
    for side, changes in found.blocks.items():
        times, edges = [t for t, _ in changes], [edge for _, edge in changes]
        cols[f"ob_{side}_active"] = _stepped(n, times, [0.0 if math.isnan(e) else 1.0 for e in edges], 0.0)
        cols[f"ob_{side}_dist"] = c / _stepped(n, times, edges, NAN) - 1.0
    return cols


def _confirmed_swings(h: np.ndarray, l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bar: does it confirm the swing high (low) SWING_LENGTH bars back, the extreme of its window?"""
    window = 2 * SWING_LENGTH + 1
    high_s, low_s = pd.Series(h), pd.Series(l)
    swing_high_at = (high_s.shift(SWING_LENGTH) == high_s.rolling(window).max()).to_numpy()
    swing_low_at = (low_s.shift(SWING_LENGTH) == low_s.rolling(window).min()).to_numpy()
    return swing_high_at, swing_low_at


def _stepped(n: int, times: Any, values: Any, before: float) -> np.ndarray:
    """Each of `n` bars' value from the newest change at or before it (the last of several at one bar), and
    `before` until the first: the scan records only when something changes."""
    times = np.asarray(times, dtype=np.int64)
    if not len(times):
        return np.full(n, before)
    newest = np.searchsorted(times, np.arange(n), side="right") - 1
    return np.where(newest >= 0, np.asarray(values, dtype="float64")[np.maximum(newest, 0)], before)


@dataclass
class _Found:
    """What the scan saw, as changes: each (bar, value) holds from that bar until the next change."""

    flags: dict[str, list[tuple[int, float]]] = field(default_factory=lambda: {
        name: [] for name in ("bos_up", "bos_down", "choch_up", "choch_down", "fvg_bull_new", "fvg_bear_new",
                              "fvg_bull_size", "fvg_bear_size")})
    trend: list[tuple[int, float]] = field(default_factory=list)  # at each break: the trend it set
    gaps: dict[str, list[tuple[int, float, float]]] = field(  # open gaps: (bar, count, newest's far side or NaN)
        default_factory=lambda: {"bull": [], "bear": []})
    blocks: dict[str, list[tuple[int, float]]] = field(  # the order block's far side, NaN when there is none
        default_factory=lambda: {"bull": [], "bear": []})


def _scan(ol: list[float], hl: list[float], ll: list[float], cl: list[float], sh_at: list[bool],
          sl_at: list[bool]) -> _Found:
    """One pass forward in time over plain lists (no call per bar: the costliest built-in), noting each change
    of state; the columns are filled from the changes afterwards, in arrays."""
    found = _Found()
    flags, trends = found.flags, found.trend
    bull_changes, bear_changes = found.gaps["bull"], found.gaps["bear"]
    bull_blocks, bear_blocks = found.blocks["bull"], found.blocks["bear"]
    trend = 0
    swing_high = swing_low = NAN
    swing_high_bar = swing_low_bar = -1
    high_broken = low_broken = True
    bull_gaps: list[tuple[float, float, int]] = []  # (bottom, top, bar) of open bullish gaps, newest last
    bear_gaps: list[tuple[float, float, int]] = []
    bull_highest_bottom = bear_lowest_top = NAN  # of the open gaps (NaN: none open)
    bull_ob: tuple[float, float, int] | None = None  # (bottom, top, bar it was stamped at)
    bear_ob: tuple[float, float, int] | None = None
    for t in range(len(cl)):
        close = cl[t]
        if sh_at[t]:
            swing_high, swing_high_bar, high_broken = hl[t - SWING_LENGTH], t - SWING_LENGTH, False
        if sl_at[t]:
            swing_low, swing_low_bar, low_broken = ll[t - SWING_LENGTH], t - SWING_LENGTH, False

        # Mitigation of blocks stamped at earlier bars: price trades back into the zone (or they expire).
        if bull_ob is not None and (ll[t] <= bull_ob[1] or t - bull_ob[2] > MAX_AGE):
            bull_ob = None
            bull_blocks.append((t, NAN))
        if bear_ob is not None and (hl[t] >= bear_ob[0] or t - bear_ob[2] > MAX_AGE):
            bear_ob = None
            bear_blocks.append((t, NAN))

        if not high_broken and close > swing_high:
            flags["choch_up" if trend == -1 else "bos_up"].append((t, 1.0))
            trend, high_broken = 1, True
            trends.append((t, 1.0))
            k = _last_candle(ol, cl, start=max(swing_low_bar, t - 50), end=t, bearish=True)
            bull_ob = (ll[k], hl[k], t) if k >= 0 else None
            bull_blocks.append((t, hl[k] if k >= 0 else NAN))
        elif not low_broken and close < swing_low:
            flags["choch_down" if trend == 1 else "bos_down"].append((t, 1.0))
            trend, low_broken = -1, True
            trends.append((t, -1.0))
            k = _last_candle(ol, cl, start=max(swing_high_bar, t - 50), end=t, bearish=False)
            bear_ob = (ll[k], hl[k], t) if k >= 0 else None
            bear_blocks.append((t, ll[k] if k >= 0 else NAN))

        # Fair value gaps: filled once price trades through the far side (or expired). The lists are rebuilt
        # only when some gap goes: its far side was reached (the highest bottom, the lowest top) or the
        # oldest, first in the list, expired.
        if bull_gaps and (ll[t] <= bull_highest_bottom or t - bull_gaps[0][2] > MAX_AGE):
            bull_gaps = [g for g in bull_gaps if ll[t] > g[0] and t - g[2] <= MAX_AGE]
            bull_highest_bottom = max([g[0] for g in bull_gaps], default=NAN)
            bull_changes.append((t, float(len(bull_gaps)), bull_gaps[-1][1] if bull_gaps else NAN))
        if bear_gaps and (hl[t] >= bear_lowest_top or t - bear_gaps[0][2] > MAX_AGE):
            bear_gaps = [g for g in bear_gaps if hl[t] < g[1] and t - g[2] <= MAX_AGE]
            bear_lowest_top = min([g[1] for g in bear_gaps], default=NAN)
            bear_changes.append((t, float(len(bear_gaps)), bear_gaps[-1][0] if bear_gaps else NAN))
        if t >= 2 and ll[t] > hl[t - 2]:
            bull_gaps = (bull_gaps + [(hl[t - 2], ll[t], t)])[-MAX_OPEN_GAPS:]
            bull_highest_bottom = max([g[0] for g in bull_gaps])
            bull_changes.append((t, float(len(bull_gaps)), ll[t]))
            flags["fvg_bull_new"].append((t, 1.0))
            flags["fvg_bull_size"].append((t, (ll[t] - hl[t - 2]) / close))
        if t >= 2 and hl[t] < ll[t - 2]:
            bear_gaps = (bear_gaps + [(hl[t], ll[t - 2], t)])[-MAX_OPEN_GAPS:]
            bear_lowest_top = min([g[1] for g in bear_gaps])
            bear_changes.append((t, float(len(bear_gaps)), hl[t]))
            flags["fvg_bear_new"].append((t, 1.0))
            flags["fvg_bear_size"].append((t, (ll[t - 2] - hl[t]) / close))
    return found


def _last_candle(opens: list[float], closes: list[float], start: int, end: int, bearish: bool) -> int:
    """Index of the last bearish (or bullish) candle in [start, end), or -1."""
    for k in range(end - 1, max(start, 0) - 1, -1):
        if (closes[k] < opens[k]) if bearish else (closes[k] > opens[k]):
            return k
    return -1
