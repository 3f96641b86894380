"""The broker's server clock: bar times in it are converted to UTC once, and the setting is checked on the data.

MetaTrader 5 stamps every bar in the broker's server time (epoch seconds that are really server wall time),
and export files carry the same wall time. With the wrong `server_timezone`, every time-of-day feature and
the market-close window shift silently. FX and metals close for the weekend at 17:00 New York time on every
broker, so the last bar before each weekend shows which clock the bars were stamped in: the check below
compares the setting with common broker clocks on exactly those bars and refuses a setting that a common
clock explains better.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.data.bars import Bars, validate_bars
from autotrainer.errors import ConfigError, DataError
from autotrainer.timeutil import CLOSE_HOUR_NEW_YORK, NEW_YORK, parse_server_clock

# Broker clocks worth suggesting, besides whole-hour fixed offsets.
COMMON_CLOCKS = ["UTC", "Europe/Athens", "America/New_York+07:00", "Europe/London", "Europe/Berlin",
                 "America/New_York", "Europe/Moscow"]
FIXED_CLOCKS = [f"{h:+03d}:00" for h in range(-12, 15) if h]
WEEKEND = pd.Timedelta(hours=36)  # a gap at least this long is the weekend (or a long holiday weekend)
CLOSE_TOLERANCE = pd.Timedelta(minutes=30)  # brokers stop quoting up to a few minutes before 17:00
CHECKED_UP_TO_MINUTES = 60  # an H4/D1 bar's end is a bar boundary, not the market's close


def server_to_utc(naive: pd.Series, spec: str, origin: str, strict: bool = True) -> pd.Series:
    """Naive server wall times to UTC. strict=False turns times the clock skips or repeats into NaT."""
    zone, shift = parse_server_clock(spec, origin=f"{origin}: server_timezone")
    policy = "raise" if strict else "NaT"
    try:
        local = (naive - shift).dt.tz_localize(zone, ambiguous=policy, nonexistent=policy)
    except ValueError as exc:
        raise DataError(
            f"{origin}: a bar time does not exist or is ambiguous in server_timezone {spec!r} ({exc}); "
            "check the 'server_timezone' setting"
        ) from None
    return local.dt.tz_convert("UTC").dt.as_unit("ns")


def utc_to_server(utc: pd.Series, spec: str) -> pd.Series:
    """UTC times back to the naive wall time of the server clock `spec`."""
    zone, shift = parse_server_clock(spec)
    return utc.dt.tz_convert(zone).dt.tz_localize(None) + shift


@dataclass
class ClockCheck:
    """What the weekly closes say about the server clock: a note for the log and any warnings."""

    note: str
    warnings: list[str] = field(default_factory=list)


def check_server_clock(utc_times: pd.Series, spec: str, timeframe_minutes: int, origin: str) -> ClockCheck:
    """Raise DataError when a common broker clock puts more weekly closes at 17:00 New York than `spec` does."""
    if timeframe_minutes > CHECKED_UP_TO_MINUTES:
        return ClockCheck(f"server clock not checked: {timeframe_minutes}-minute bars do not show the market's close")
    closing = _weekly_closes(utc_times)
    if len(closing) < 2:
        return ClockCheck("server clock not checked: the bars contain fewer than two weekly closes")
    server_ends = utc_to_server(closing, spec) + pd.Timedelta(minutes=timeframe_minutes)
    clocks, at_17 = _verdicts(closing, server_ends, spec, timeframe_minutes, origin)
    counts = at_17.sum(axis=0)  # per clock (`spec` first), how many weekly closes it puts at 17:00
    ours, total = int(counts[0]), len(closing)
    first_best = int(np.argmax(counts))  # the first clock with the most, as max() over them in order picks
    best, at_best, at_ours = clocks[first_best], at_17[:, first_best], at_17[:, 0]
    if counts[first_best] > ours and counts[first_best] >= 2:
        differ = ", ".join(f"{t:%Y-%m-%d}" for t in closing[at_best & ~at_ours].iloc[:3])
        raise DataError(
            f"{origin}: with server_timezone {spec!r} only {ours} of {total} weekly closes (the last bar before each "
            f"weekend) end at 17:00 New York time, where FX and metals close; the others mostly end at "
            f"{_usual_close(server_ends[~at_ours], spec, origin)}. {best!r} puts {int(counts[first_best])} of {total} "
            f"at 17:00 (it differs in the weeks of {differ}). Set server_timezone = {best!r}, or check_server_clock = "
            "false if this symbol closes at another time"
        )
    note = f"server clock {spec!r}: {ours} of {total} weekly closes at 17:00 New York (the others closed early)"
    if ours * 2 < total:
        return ClockCheck(note, [f"{origin}: could not confirm server_timezone {spec!r}: only {ours} of {total} weekly "
                                 f"closes fall at 17:00 New York and no common broker clock does better"])
    return ClockCheck(note if ours < total else f"server clock {spec!r}: all {total} weekly closes at 17:00 New York")


def _weekly_closes(utc_times: pd.Series) -> pd.Series:
    """The last bar before each weekend: the next bar starts at least WEEKEND later (the last bar is none)."""
    starts = utc_times.reset_index(drop=True)
    return starts[(starts.shift(-1) - starts) >= WEEKEND]


def remember_weekly_closes(utc_times: pd.Series, spec: str, timeframe_minutes: int, origin: str) -> None:
    """Judge every weekly close of `utc_times` now, in one batch, for the checks of windows of these bars to
    look up (a window's weekly closes are among its series'): a replay's windows would otherwise judge each
    new week's close in a batch of its own. Changes no verdict and raises nothing: a window's check reports
    what is wrong."""
    if timeframe_minutes > CHECKED_UP_TO_MINUTES:
        return
    closing = _weekly_closes(utc_times)
    try:
        _verdicts(closing, utc_to_server(closing, spec) + pd.Timedelta(minutes=timeframe_minutes), spec,
                  timeframe_minutes, origin)
    except Exception:  # noqa: BLE001 - e.g. a clock that does not parse: the window's own check says so
        return


# (weekly close in UTC ns, spec, timeframe) -> whether each clock of _clocks(spec) puts it at 17:00 New York.
# A verdict depends on nothing else, and consecutive runs see almost the same weekly closes: each is judged once.
_VERDICTS: dict[tuple[int, str, int], tuple[bool, ...]] = {}
_VERDICTS_KEPT = 100_000  # far more weekly closes than any history holds; a bound, not a policy


def _clocks(spec: str) -> list[str]:
    """The clocks compared, `spec` first, each once (in the order a dict of them keeps)."""
    return list(dict.fromkeys([spec, *COMMON_CLOCKS, *FIXED_CLOCKS]))


def _verdicts(closing: pd.Series, server_ends: pd.Series, spec: str, timeframe_minutes: int,
              origin: str) -> tuple[list[str], np.ndarray]:
    """The clocks compared and, per weekly close (rows) and clock (columns), whether it puts the close at
    17:00 New York. Each close is judged element by element (tz_localize with ambiguous/nonexistent 'NaT'
    looks at no neighbour), so a close judged before in this process is looked up and only new ones are
    computed, as one batch."""
    clocks = _clocks(spec)
    keys = [(moment.value, spec, timeframe_minutes) for moment in closing]  # .value: ns whatever the unit
    new = [i for i, key in enumerate(keys) if key not in _VERDICTS]
    if new:
        ends, fresh = server_ends.iloc[new], closing.iloc[new]
        expected = _friday_close(fresh + pd.Timedelta(minutes=timeframe_minutes))
        judged = [_closes_at_17(ends, clock, expected, origin).to_numpy(dtype=bool) for clock in clocks]
        if len(_VERDICTS) + len(new) > _VERDICTS_KEPT:
            _VERDICTS.clear()
        for row, i in enumerate(new):
            _VERDICTS[keys[i]] = tuple(bool(column[row]) for column in judged)
    return clocks, np.array([_VERDICTS[key] for key in keys], dtype=bool).reshape(len(keys), len(clocks))


def _friday_close(ends_utc: pd.Series) -> pd.Series:
    """17:00 New York on the Friday nearest to each time, in UTC."""
    local = ends_utc.dt.tz_convert(NEW_YORK)
    days = ((4 - local.dt.day_of_week + 3) % 7) - 3  # -3..+3 days to the nearest Friday
    friday = (local.dt.normalize().dt.tz_localize(None) + pd.to_timedelta(days, unit="D")
              + pd.Timedelta(hours=CLOSE_HOUR_NEW_YORK))
    return friday.dt.tz_localize(NEW_YORK).dt.tz_convert("UTC")


def _closes_at_17(server_ends: pd.Series, clock: str, expected: pd.Series, origin: str) -> pd.Series:
    """Which weekly closes `clock` puts at (or just before) 17:00 New York."""
    try:
        error = server_to_utc(server_ends, clock, origin, strict=False) - expected
    except (ConfigError, DataError):
        return pd.Series(False, index=server_ends.index)
    return ((error <= pd.Timedelta(0)) & (error > -CLOSE_TOLERANCE)).fillna(False)


def _usual_close(server_ends: pd.Series, spec: str, origin: str) -> str:
    ends = server_to_utc(server_ends, spec, origin, strict=False).dropna().dt.tz_convert(NEW_YORK)
    counts = Counter(ends.dt.strftime("%H:%M")).most_common(1)
    return counts[0][0] if counts else "an unknown time"


def rates_to_bars(rates: Any, server_timezone: str, origin: str = "MetaTrader 5 rates") -> Bars:
    """`copy_rates_*` output (server-time epoch seconds) as validated bars in UTC: the one conversion the
    training source and the live bot both use."""
    frame = pd.DataFrame(rates)
    if "time" not in frame.columns:
        raise DataError(f"{origin}: no 'time' field; expected the structured array copy_rates_* returns")
    frame["time"] = server_to_utc(pd.to_datetime(frame["time"], unit="s"), server_timezone, origin)
    return validate_bars(frame, origin)
