"""Data sources: a source name in, validated UTC bars out.

`mt5` reads the MetaTrader 5 terminal, `sample` the bundled real XAUUSD M15 history, anything else is a
path to a bar file (see `bar_files`); `auto` is mt5 where the MetaTrader5 package is installed, else the
sample. Broker servers stamp bars in their own clock; every source converts to UTC here, once, using the
`server_timezone` setting (or the sample's known zone), so features and schedules never see server time.
Whatever the source, the bars then pass the same checks: validation, timeframe, gaps, the server clock,
and (before training) their age.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path

import pandas as pd

from autotrainer.config import Settings
from autotrainer.data.bars import Bars, newest, reject_row, require_price_movement, validate_bars
from autotrainer.data.bundled import SAMPLE_PATH, SAMPLE_SERVER_TIMEZONE, SAMPLE_SYMBOL, SAMPLE_TIMEFRAME
from autotrainer.data.files import read_bar_file
from autotrainer.data.market_hours import find_gaps, require_fresh
from autotrainer.data.server_clock import check_server_clock, server_to_utc
from autotrainer.errors import ConfigError, DataError
from autotrainer.settings import TIMEFRAME_MINUTES
from autotrainer.timeutil import utc_now

log = logging.getLogger("autotrainer")
# MT5's "Export Bars" names files SYMBOL_TIMEFRAME_FROM_TO.csv, e.g. XAUUSD_M15_202403200630_202406281945.csv.
# Where an operator sets 'symbol' and 'timeframe': the flags exist on the commands that read bars for training.
WHERE_SET = "--symbol/--timeframe of retrain, bars and replay, AUTOTRAINER_SYMBOL/AUTOTRAINER_TIMEFRAME or autotrainer.toml"
_EXPORT_NAME = re.compile(r"^(?P<symbol>.+)_(?P<timeframe>M\d+|H\d+|D1|W1|MN1)_\d{12}_\d{12}\.(csv|txt|tsv)", re.I)


def resolve_source(settings: Settings) -> str:
    """The source a run actually uses: 'auto' becomes 'mt5' or 'sample'."""
    if settings.source != "auto":
        return settings.source
    from autotrainer.data.mt5 import package_available

    return "mt5" if package_available() else "sample"


def load_bars(settings: Settings, count: int, now: datetime | None = None) -> Bars:
    """The newest `count` validated bars of the configured symbol and timeframe from the configured source.

    `now` only matters for MetaTrader 5, whose newest bar may still be forming at that moment.
    """
    return prepare_bars(read_bars(settings, count, now), settings, count)


def read_bars(settings: Settings, count: int, now: datetime | None = None) -> Bars:
    """Everything the source holds (MetaTrader 5: its newest `count` closed bars), validated and of the
    configured timeframe, before any slicing; `prepare_bars` turns it into what a run trains on."""
    source = resolve_source(settings)
    if source == "sample":
        bars = _load_sample(settings)
    elif source == "mt5":
        from autotrainer.data.mt5 import load_mt5_bars

        bars = load_mt5_bars(settings, count, now or utc_now())
    else:
        bars = _load_file(Path(source), settings)
    check_timeframe(bars, settings.timeframe, settings.timeframe_minutes)
    return bars


def prepare_bars(bars: Bars, settings: Settings, count: int) -> Bars:
    """The newest `count` of `bars`, with the movement, gap and server-clock checks judged on exactly those bars."""
    bars = newest(bars, count)
    require_price_movement(bars)
    _check_calendar(bars, settings)
    for note in bars.notes:
        log.info("Data: %s", note)
    return bars


def check_freshness(bars: Bars, settings: Settings, now: datetime) -> None:
    """Refuse stale bars (or record a warning when allowed); the bundled sample is a fixed history."""
    if resolve_source(settings) == "sample":
        log.info("Data: the bundled sample is a fixed history ending %s UTC; its age is not checked",
                 f"{bars.end:%Y-%m-%d %H:%M}")
        return
    bars.warnings.extend(require_fresh(bars.origin, bars.end, settings.timeframe_minutes, now,
                                       settings.max_bar_age_hours, settings.allow_stale_data))


def _load_sample(settings: Settings) -> Bars:
    if settings.symbol != SAMPLE_SYMBOL or settings.timeframe != SAMPLE_TIMEFRAME:
        raise ConfigError(
            f"source 'sample' holds {SAMPLE_SYMBOL} {SAMPLE_TIMEFRAME} bars, but the settings ask for "
            f"{settings.symbol} {settings.timeframe}; set 'source' to a file or MetaTrader 5"
        )
    raw = pd.read_csv(SAMPLE_PATH)
    origin = f"bundled sample {SAMPLE_PATH.name}"
    raw["time"] = server_to_utc(pd.to_datetime(raw["time"], format="%Y-%m-%d %H:%M:%S"), SAMPLE_SERVER_TIMEZONE, origin)
    bars = validate_bars(raw, origin)
    bars.server_clock = SAMPLE_SERVER_TIMEZONE
    return bars


def _load_file(path: Path, settings: Settings) -> Bars:
    raw = read_bar_file(path)
    _check_export_name(path, settings)
    origin = str(path)
    frame = raw.frame
    clock = "UTC" if raw.times_in_utc else settings.server_timezone
    if getattr(frame["time"].dt, "tz", None) is None:
        frame["time"] = server_to_utc(frame["time"], clock, origin)
    else:
        frame["time"] = frame["time"].dt.tz_convert("UTC").dt.as_unit("ns")
    if raw.ragged is not None:
        reject_row(frame, origin, raw.ragged.row, raw.ragged.problem())
    bars = validate_bars(frame, origin)
    bars.warnings[:0] = raw.warnings
    bars.notes.append(f"read {path.name} as {raw.layout}" + (", times in UTC" if raw.times_in_utc else ""))
    bars.server_clock = clock
    return bars


def _check_export_name(path: Path, settings: Settings) -> None:
    """An MT5 export's name says its symbol and timeframe: a file of another instrument is refused up front."""
    match = _EXPORT_NAME.match(path.name)
    if match is None:
        return
    symbol, timeframe = match.group("symbol"), match.group("timeframe").upper()
    if symbol.lower() != settings.symbol.lower() or timeframe != settings.timeframe:
        raise DataError(
            f"{path}: the file name says {symbol} {timeframe}, but the settings ask for {settings.symbol} "
            f"{settings.timeframe}; set settings 'symbol' and 'timeframe' to match the file ({WHERE_SET})"
        )


def _check_calendar(bars: Bars, settings: Settings) -> None:
    """Gaps and the server clock, judged on the bars a run will actually use."""
    gaps = find_gaps(bars.frame["time"], settings.timeframe_minutes)
    bars.notes.append(gaps.summary())
    bars.warnings.extend(gaps.warnings(bars.origin))
    if settings.check_server_clock:
        clock = check_server_clock(bars.frame["time"], bars.server_clock, settings.timeframe_minutes, bars.origin)
        bars.notes.append(clock.note)
        bars.warnings.extend(clock.warnings)


def check_timeframe(bars: Bars, timeframe: str, minutes: int) -> None:
    """Infer the bars' timeframe from the most common spacing; a mismatch with the settings is an error."""
    steps = bars.frame["time"].diff().dropna()
    if steps.empty:
        return
    found = int(steps.mode().iloc[0] / pd.Timedelta(minutes=1))
    if found != minutes:
        names = [name for name, value in TIMEFRAME_MINUTES.items() if value == found]
        looks = f"the data looks like {names[0]}" if names else "that is none of " + ", ".join(TIMEFRAME_MINUTES)
        raise DataError(
            f"{bars.origin}: bars are {found} minutes apart, but the configured timeframe is "
            f"{timeframe} ({minutes} minutes); {looks}: set 'timeframe' to match the data ({WHERE_SET})"
        )
