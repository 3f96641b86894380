"""Data sources: a source name in, validated UTC bars out.

`sample` is the bundled real XAUUSD M15 history; anything else is a path to a CSV or Parquet file.
Broker servers stamp bars in their own clock; every source converts to UTC here, once, using the
`server_timezone` setting (or the sample's known zone), so features and schedules never see server time.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from autotrainer.bars import BAR_COLUMNS, Bars, newest, validate_bars
from autotrainer.config import Settings, parse_timezone
from autotrainer.errors import ConfigError, DataError

SAMPLE_PATH = Path(__file__).with_name("sample") / "xauusd_m15_mt5demo.csv.gz"
SAMPLE_SYMBOL = "XAUUSD"
SAMPLE_TIMEFRAME = "M15"
# The sample's daily break sits at 00:00-01:00 server time and moves with EU daylight saving
# (UTC+3 in summer, UTC+2 in winter): the usual MT5 "New York close" clock.
SAMPLE_SERVER_TIMEZONE = "Europe/Athens"

_COLUMN_ALIASES = {
    "time": "time", "datetime": "time", "date_time": "time", "timestamp": "time", "date": "time",
    "open": "open", "high": "high", "low": "low", "close": "close",
    "tick_volume": "tick_volume", "tickvol": "tick_volume", "tickvolume": "tick_volume", "volume": "tick_volume",
    "spread": "spread", "real_volume": "real_volume", "vol": "real_volume", "realvolume": "real_volume",
}


def load_bars(settings: Settings, count: int) -> Bars:
    """The newest `count` validated bars of the configured symbol and timeframe from the configured source."""
    if settings.source == "sample":
        bars = _load_sample(settings)
    else:
        bars = _load_file(Path(settings.source), settings)
    check_timeframe(bars, settings.timeframe, settings.timeframe_minutes)
    return newest(bars, count)


def _load_sample(settings: Settings) -> Bars:
    if settings.symbol != SAMPLE_SYMBOL or settings.timeframe != SAMPLE_TIMEFRAME:
        raise ConfigError(
            f"source 'sample' holds {SAMPLE_SYMBOL} {SAMPLE_TIMEFRAME} bars, but the settings ask for "
            f"{settings.symbol} {settings.timeframe}; set 'source' to a file or MetaTrader 5"
        )
    raw = pd.read_csv(SAMPLE_PATH)
    raw["time"] = pd.to_datetime(raw["time"], format="%Y-%m-%d %H:%M:%S")
    return validate_bars(to_utc(raw, SAMPLE_SERVER_TIMEZONE, "bundled sample"), f"bundled sample {SAMPLE_PATH.name}")


def _load_file(path: Path, settings: Settings) -> Bars:
    if not path.is_file():
        raise DataError(f"source file {path} does not exist")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            raw = pd.read_parquet(path)
        else:
            raw = pd.read_csv(path, sep=None, engine="python")
    except (ValueError, OSError, pd.errors.ParserError, ImportError) as exc:
        raise DataError(f"{path}: cannot be read as CSV or Parquet: {exc}") from None
    raw = _normalise_columns(raw, path)
    raw["time"] = _parse_times(raw["time"])
    return validate_bars(to_utc(raw, settings.server_timezone, str(path)), str(path))


def _normalise_columns(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    renamed = {}
    for col in raw.columns:
        key = str(col).strip().strip("<>").lower().replace(" ", "_")
        if key in _COLUMN_ALIASES and _COLUMN_ALIASES[key] not in renamed.values():
            renamed[col] = _COLUMN_ALIASES[key]
    frame = raw.rename(columns=renamed)
    return frame[[c for c in BAR_COLUMNS if c in frame.columns]].reset_index(drop=True)


def _parse_times(column: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    if pd.api.types.is_numeric_dtype(column):
        return pd.to_datetime(column, unit="s", errors="coerce")
    return pd.to_datetime(column.astype(str).str.replace(".", "-", n=2, regex=False), errors="coerce", format="mixed")


def to_utc(raw: pd.DataFrame, server_timezone: str, origin: str) -> pd.DataFrame:
    """Interpret naive bar times in the server's zone and convert to UTC (tz-aware times are just converted)."""
    frame = raw.copy()
    times = frame["time"]
    if getattr(times.dt, "tz", None) is None:
        tz = parse_timezone(server_timezone, origin=f"{origin}: server_timezone")
        try:
            times = times.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise")
        except (ValueError, Exception) as exc:  # pytz/zoneinfo raise different classes for the same fault
            raise DataError(
                f"{origin}: bar time {exc} does not exist or is ambiguous in server_timezone {server_timezone!r}; "
                "check the 'server_timezone' setting"
            ) from None
    frame["time"] = times.dt.tz_convert("UTC").dt.as_unit("ns")
    return frame


def check_timeframe(bars: Bars, timeframe: str, minutes: int) -> None:
    """Infer the bars' timeframe from the most common spacing; a mismatch with the settings is an error."""
    steps = bars.frame["time"].diff().dropna()
    if steps.empty:
        return
    found = int(steps.mode().iloc[0] / pd.Timedelta(minutes=1))
    if found != minutes:
        raise DataError(
            f"{bars.origin}: bars are {found} minutes apart, but the configured timeframe is "
            f"{timeframe} ({minutes} minutes); set 'timeframe' to match the data"
        )
