"""Feature plugins for the tests, importable as `plugin_examples:<function>` (tests/ is on sys.path).

One honest indicator, the classic ways an indicator peeks into the future (a sparse one among them, and
the same slipped into the built-ins), and functions that break the plugin contract. Each takes the
validated bars and returns new columns on the bars' index.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


def causal_feature(bars: pd.DataFrame) -> pd.DataFrame:
    """Honest: 2-bar RSI-like momentum and the close's distance to its 200-bar mean, trailing windows only."""
    close = bars["close"]
    change = close.diff()
    gain = change.clip(lower=0).rolling(2).mean()
    loss = (-change).clip(lower=0).rolling(2).mean()
    return pd.DataFrame({
        "momentum_2": gain / (gain + loss).where(gain + loss > 0),
        "dist_mean_200": close / close.rolling(200).mean() - 1.0,
    }, index=bars.index)


def next_bar_volume(bars: pd.DataFrame) -> pd.DataFrame:
    """Leaks one bar: tomorrow's tick volume relative to today's, via shift(-1)."""
    volume = bars["tick_volume"]
    return pd.DataFrame({"volume_next_ratio": volume.shift(-1) / volume.where(volume > 0)}, index=bars.index)


def centred_mean(bars: pd.DataFrame) -> pd.DataFrame:
    """Leaks ten bars: a 21-bar moving average centred on the bar, as smoothing plots often use."""
    close = bars["close"]
    return pd.DataFrame({"centred_mean_21": close / close.rolling(21, center=True).mean() - 1.0}, index=bars.index)


def order_block_at_formation(bars: pd.DataFrame) -> pd.DataFrame:
    """Leaks like the original system: an order block is stamped on the candle where it *formed*, using
    the close of the later bar that broke structure (so at the forming bar it is not yet knowable)."""
    o, h, l, c = (bars[col].to_numpy() for col in ("open", "high", "low", "close"))
    n = len(c)
    ob, top, bottom = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(10, n):
        if c[i] > h[i - 10:i].max():  # a later bar's close breaks the recent high
            for j in range(i - 1, i - 11, -1):  # the last bearish candle before the break...
                if c[j] < o[j]:
                    ob[j], top[j], bottom[j] = 1.0, h[j] / c[j] - 1.0, l[j] / c[j] - 1.0  # ...marked at j
                    break
    return pd.DataFrame({"ob_formed": ob, "ob_formed_top": top, "ob_formed_bottom": bottom}, index=bars.index)


def future_return(bars: pd.DataFrame) -> pd.DataFrame:
    """The label in disguise: the next bar's log return."""
    log_close = np.log(bars["close"])
    return pd.DataFrame({"future_return": log_close.shift(-1) - log_close}, index=bars.index)


def inverted_future_return(bars: pd.DataFrame) -> pd.DataFrame:
    """The label inverted: minus the next bar's log return (an AUC near 0 is as much a leak as near 1)."""
    log_close = np.log(bars["close"])
    return pd.DataFrame({"minus_future_return": log_close - log_close.shift(-1)}, index=bars.index)


def globally_scaled_close(bars: pd.DataFrame) -> pd.DataFrame:
    """Leaks the whole series: a z-score with the mean and spread of all bars, future ones included."""
    close = bars["close"]
    return pd.DataFrame({"close_zscore_all": (close - close.mean()) / close.std()}, index=bars.index)


# Which bars `sparse_future_return` leaks on: about `share` of them, chosen by a hash of the bar's time salted
# with `salt` (so a bar leaks, or not, whatever the length of the history). The catch-rate script varies both.
SPARSE_LEAK = {"share": 0.01, "salt": 0}


def sparse_leak_rows(times: pd.Series) -> np.ndarray:
    """True on the bars SPARSE_LEAK picks: a fixed pseudo-random ~share of them, independent of the history's length."""
    nanoseconds = times.to_numpy(dtype="datetime64[ns]").astype("int64")
    hashed = pd.util.hash_array(nanoseconds, hash_key=f"{SPARSE_LEAK['salt']:016d}")
    return hashed < np.uint64(SPARSE_LEAK["share"] * 2.0**64)


def sparse_future_return(bars: pd.DataFrame) -> pd.DataFrame:
    """Leaks on about 1% of bars: the next bar's log return (`shift(-1)`) there, the past one elsewhere, as a
    special case slipped into an honest return would. Its AUC stays near 0.5; only a truncation ending at one
    of those bars shows it."""
    log_close = np.log(bars["close"])
    past, future = log_close.diff(), log_close.shift(-1) - log_close
    return pd.DataFrame({"ret_1_sparse": future.where(sparse_leak_rows(bars["time"]), past)}, index=bars.index)


def leak_into_ret_1(technical_features: Callable[[pd.DataFrame], dict[str, np.ndarray]]
                    ) -> Callable[[pd.DataFrame], dict[str, np.ndarray]]:
    """The built-in `technical_features` with `ret_1` turned into the next bar's return on the bars SPARSE_LEAK
    picks: a sparse leak inside the built-ins, as a regression in their code could slip one in."""
    def leaky(bars: pd.DataFrame) -> dict[str, np.ndarray]:
        columns = technical_features(bars)
        next_return = np.append(np.diff(np.log(bars["close"].to_numpy(dtype="float64"))), np.nan)
        columns["ret_1"] = np.where(sparse_leak_rows(bars["time"]), next_return, columns["ret_1"])
        return columns

    return leaky


# What `configured_shift` reads; the property tests set it before each example.
SHIFT = {"column": "close", "bars_ahead": 1}


def configured_shift(bars: pd.DataFrame) -> pd.DataFrame:
    """Reads SHIFT["column"] SHIFT["bars_ahead"] bars ahead (a negative number is a lag, which is causal)."""
    values = bars[SHIFT["column"]].where(bars[SHIFT["column"]] > 0)
    return pd.DataFrame({"shifted": values.shift(-SHIFT["bars_ahead"]) / values}, index=bars.index)


def mutates_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Scribbles over its input; the pipeline must not notice, because plugins get a copy."""
    bars["close"] *= 2.0
    bars.loc[bars.index[:10], "time"] = pd.Timestamp("2000-01-01", tz="UTC")
    del bars["spread"]
    return pd.DataFrame({"scribble": np.ones(len(bars))}, index=bars.index)


def raises(bars: pd.DataFrame) -> pd.DataFrame:
    raise ZeroDivisionError("my indicator divided by zero")


def one_row_short(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"short": bars["close"].iloc[1:].to_numpy()}, index=bars.index[1:])


def shuffled_index(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"shuffled": bars["close"].to_numpy()}, index=bars.index[::-1])


def text_column(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"trend_label": np.where(bars["close"].diff() > 0, "up", "down")}, index=bars.index)


def clashing_name(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rsi_14": bars["close"] * 0.0}, index=bars.index)


def returns_series(bars: pd.DataFrame) -> pd.Series:
    return bars["close"].pct_change().rename("pct")


def infinite_values(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"range_ratio": bars["close"] / (bars["high"] - bars["high"])}, index=bars.index)


def boolean_flag(bars: pd.DataFrame) -> pd.DataFrame:
    """Booleans and integers are numbers too; they reach the model as 0.0 / 1.0."""
    return pd.DataFrame({"up_bar": bars["close"] > bars["open"], "hour": bars["time"].dt.hour}, index=bars.index)


def rejects_missing_bars(bars: pd.DataFrame) -> pd.DataFrame:
    """Refuses a history with a single bar missing (a 30-minute step), which the real bars never have but the
    audit's dropped-bar runs, and a feed with a gap, do."""
    if (bars["time"].diff() == pd.Timedelta(minutes=30)).any():
        raise ValueError("a bar is missing")
    return pd.DataFrame({"body_ratio": bars["close"] / bars["open"] - 1.0}, index=bars.index)


def columns_depend_on_length(bars: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({f"close_of_{len(bars)}_bars": bars["close"]}, index=bars.index)


not_a_function = 42
