"""Standard indicators (through TA-Lib), returns, volatility, candle shape, volume and time of day.

Every column is a scale-free ratio or bounded oscillator, so a model trained at gold 2,000 still reads
gold 4,000 correctly. Every column at bar t uses bars <= t only (TA-Lib and trailing windows are causal).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import talib

# Longest trailing window any column here uses (EMA 100, 96-bar ranges): rows before it are warm-up.
LONGEST_WINDOW = 100


def technical_features(bars: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns computed from price and volume with trailing windows only (in the model's column order)."""
    o, h, l, c = (bars[col].to_numpy(dtype="float64") for col in ("open", "high", "low", "close"))
    volume = bars["tick_volume"].to_numpy(dtype="float64")
    spread = bars["spread"].to_numpy(dtype="float64")
    return {**_returns(c), **_oscillators(h, l, c), **_moving_averages(c), **_momentum(h, l, c, volume),
            **_candles_and_ranges(o, h, l, c), **_activity(volume, spread)}


def _returns(c: np.ndarray) -> dict[str, np.ndarray]:
    """Log returns over several horizons and the volatility of one-bar returns."""
    out: dict[str, np.ndarray] = {}
    log_close = np.log(c)
    ret_1 = _diff(log_close, 1)
    for n in (1, 3, 5, 10, 20):
        out[f"ret_{n}"] = _diff(log_close, n)
    for n in (10, 20, 50):
        out[f"volatility_{n}"] = talib.STDDEV(ret_1, timeperiod=n)
    out["volatility_ratio_10_50"] = out["volatility_10"] / out["volatility_50"]
    return out


def _oscillators(h: np.ndarray, l: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """ATR, RSI, MACD and Bollinger bands, as shares of price or bounded values."""
    out: dict[str, np.ndarray] = {}
    atr_14 = talib.ATR(h, l, c, timeperiod=14)
    out["atr_14_pct"] = atr_14 / c
    out["range_to_atr"] = (h - l) / atr_14
    out["rsi_14"] = talib.RSI(c, timeperiod=14)
    out["rsi_7"] = talib.RSI(c, timeperiod=7)
    macd, macd_signal, macd_hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    out["macd_pct"], out["macd_signal_pct"], out["macd_hist_pct"] = macd / c, macd_signal / c, macd_hist / c
    upper, middle, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    out["bb_percent_b"] = (c - lower) / (upper - lower)
    out["bb_width"] = (upper - lower) / middle
    return out


def _moving_averages(c: np.ndarray) -> dict[str, np.ndarray]:
    """Distance from EMAs and the 9/21 cross."""
    out: dict[str, np.ndarray] = {}
    ema = {n: talib.EMA(c, timeperiod=n) for n in (9, 21, 50, 100)}
    for n, values in ema.items():
        out[f"ema_{n}_dist"] = c / values - 1.0
    spread_9_21 = ema[9] / ema[21] - 1.0
    above = np.where(np.isnan(spread_9_21), np.nan, (spread_9_21 > 0).astype("float64"))
    out["ema_9_21_spread"] = spread_9_21
    out["ema_9_above_21"] = above
    out["ema_9_21_cross"] = _diff(above, 1)  # +1 crossed up at this bar, -1 crossed down, 0 none
    return out


def _momentum(h: np.ndarray, l: np.ndarray, c: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Stochastics, Williams %R, CCI, directional movement, money flow, Aroon and the regression slope."""
    out: dict[str, np.ndarray] = {}
    slowk, slowd = talib.STOCH(h, l, c, fastk_period=14, slowk_period=3, slowd_period=3)
    out["stoch_k"], out["stoch_d"] = slowk, slowd
    out["willr_14"] = talib.WILLR(h, l, c, timeperiod=14)
    out["cci_20"] = talib.CCI(h, l, c, timeperiod=20)
    out["adx_14"] = talib.ADX(h, l, c, timeperiod=14)
    out["plus_di_14"] = talib.PLUS_DI(h, l, c, timeperiod=14)
    out["minus_di_14"] = talib.MINUS_DI(h, l, c, timeperiod=14)
    out["mfi_14"] = talib.MFI(h, l, c, volume, timeperiod=14)
    out["aroon_osc_14"] = talib.AROONOSC(h, l, timeperiod=14)
    out["linreg_slope_20_pct"] = talib.LINEARREG_SLOPE(c, timeperiod=20) / c
    return out


def _candles_and_ranges(o: np.ndarray, h: np.ndarray, l: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Candle shape, and where the close sits in the recent high-low range."""
    out: dict[str, np.ndarray] = {}
    candle_range = h - l
    safe_range = np.where(candle_range > 0, candle_range, np.nan)
    out["candle_body"] = (c - o) / safe_range
    out["candle_upper_wick"] = (h - np.maximum(o, c)) / safe_range
    out["candle_lower_wick"] = (np.minimum(o, c) - l) / safe_range
    out["candle_close_position"] = (c - l) / safe_range
    out["candle_range_pct"] = candle_range / c
    for n in (20, 96):
        highest, lowest = talib.MAX(h, timeperiod=n), talib.MIN(l, timeperiod=n)
        width = np.where(highest > lowest, highest - lowest, np.nan)
        out[f"range_position_{n}"] = (c - lowest) / width
    out["dist_high_96"] = c / talib.MAX(h, timeperiod=96) - 1.0
    out["dist_low_96"] = c / talib.MIN(l, timeperiod=96) - 1.0
    return out


def _activity(volume: np.ndarray, spread: np.ndarray) -> dict[str, np.ndarray]:
    """Tick volume and spread against their own recent averages."""
    return {
        "volume_ratio_20": volume / _positive(talib.SMA(volume, timeperiod=20)),
        "volume_ratio_5_50": talib.SMA(volume, timeperiod=5) / _positive(talib.SMA(volume, timeperiod=50)),
        "spread_ratio_96": spread / _positive(talib.SMA(spread, timeperiod=96)),
    }


def time_features(times: pd.Series) -> dict[str, np.ndarray]:
    """Time of day, day of week and the three main sessions, each in its own local clock (DST included)."""
    utc = pd.DatetimeIndex(times)
    hour = utc.hour.to_numpy() + utc.minute.to_numpy() / 60.0
    dow = utc.day_of_week.to_numpy().astype("float64")
    out = {
        "hour_sin": np.sin(2 * np.pi * hour / 24.0),
        "hour_cos": np.cos(2 * np.pi * hour / 24.0),
        "dow_sin": np.sin(2 * np.pi * dow / 7.0),
        "dow_cos": np.cos(2 * np.pi * dow / 7.0),
    }
    sessions = {"session_tokyo": ("Asia/Tokyo", 9, 18), "session_london": ("Europe/London", 8, 17),
                "session_new_york": ("America/New_York", 8, 17)}
    for name, (zone, start, end) in sessions.items():
        local_hour = utc.tz_convert(zone).hour.to_numpy()
        out[name] = ((local_hour >= start) & (local_hour < end)).astype("float64")
    out["session_overlap"] = out["session_london"] * out["session_new_york"]
    return out


def _diff(values: np.ndarray, n: int) -> np.ndarray:
    result = np.full_like(values, np.nan)
    result[n:] = values[n:] - values[:-n]
    return result


def _positive(values: np.ndarray) -> np.ndarray:
    return np.where(values > 0, values, np.nan)
