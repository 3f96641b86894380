"""The FX and metals trading week, so gaps and the age of bars are judged in market hours, not clock hours.

Gold and FX trade from Sunday 17:00 to Friday 17:00 New York time on every broker, whatever the broker's
own clock. The market is also shut on Christmas Day, New Year's Day and (for metals) Good Friday. A gap
that these closures explain is normal; so is the daily break (gold pauses 17:00-18:00 New York). A gap
of a day or more of market time inside the week means missing data, and is a warning.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from autotrainer.data.market_week import market_time_between
from autotrainer.errors import DataError
from autotrainer.timeutil import wib_text

# Gaps up to this much market time are the daily break or a reopening delay, not missing data.
NORMAL_GAP = pd.Timedelta(hours=2)
# Gaps of at least this much market time inside the week are "days missing": a warning.
LONG_GAP = pd.Timedelta(hours=24)
WARNINGS_LISTED = 5


@dataclass
class Gap:
    """Missing market time between the end of one bar and the start of the next."""

    after: pd.Timestamp
    before: pd.Timestamp
    market_time: pd.Timedelta

    def describe(self) -> str:
        days = self.market_time / pd.Timedelta(days=1)
        size = f"{days:.1f} days" if days >= 1 else f"{self.market_time / pd.Timedelta(hours=1):.1f} hours"
        return f"{size} of market time missing between {self.after:%Y-%m-%d %H:%M} and {self.before:%Y-%m-%d %H:%M} UTC"


@dataclass
class GapReport:
    """Gaps sorted by kind: closures and short pauses are normal; outages and missing days are not."""

    closures: int = 0
    pauses: int = 0
    outages: list[Gap] = field(default_factory=list)
    missing_days: list[Gap] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"gaps: {self.closures} weekend/holiday closure(s), {self.pauses} pause(s) of up to "
                f"{NORMAL_GAP / pd.Timedelta(hours=1):g} h (daily break)")
        if self.outages:
            longest = max(self.outages, key=lambda gap: gap.market_time)
            text += f", {len(self.outages)} longer outage(s) (longest: {longest.describe()})"
        if self.missing_days:
            text += f", {len(self.missing_days)} gap(s) of a day or more inside the week"
        return text

    def warnings(self, origin: str) -> list[str]:
        listed = [f"{origin}: gap inside the trading week: {gap.describe()}" for gap in self.missing_days[:WARNINGS_LISTED]]
        if len(self.missing_days) > WARNINGS_LISTED:
            listed.append(f"{origin}: {len(self.missing_days) - WARNINGS_LISTED} more gap(s) of a day or more inside the trading week")
        return listed


# The market time of a gap depends on its two ends only, and a run's bars share nearly all their gaps (each
# weekend's) with the last run's: each is computed once a process.
_market_time = functools.lru_cache(maxsize=4096)(market_time_between)


def find_gaps(times: pd.Series, timeframe_minutes: int) -> GapReport:
    """Classify every gap between consecutive (sorted, UTC) bars."""
    report = GapReport()
    starts = pd.DatetimeIndex(times).as_unit("ns")
    ends = starts + pd.Timedelta(minutes=timeframe_minutes)
    raw = starts[1:] - ends[:-1]  # each gap: the next bar's start minus this bar's end
    report.pauses = int(((raw > pd.Timedelta(0)) & (raw <= NORMAL_GAP)).sum())
    for position in np.flatnonzero(raw > NORMAL_GAP):
        after, before = ends[position], starts[position + 1]
        market = _market_time(after, before)
        report.closures += int(market < before - after)
        if market >= LONG_GAP:
            report.missing_days.append(Gap(after, before, market))
        elif market > NORMAL_GAP:
            report.outages.append(Gap(after, before, market))
    return report


def bar_age(newest_start: pd.Timestamp, timeframe_minutes: int, now: pd.Timestamp) -> pd.Timedelta:
    """Market time between the close of the newest bar and `now`."""
    return market_time_between(newest_start + pd.Timedelta(minutes=timeframe_minutes), now)


def require_fresh(origin: str, newest_start: pd.Timestamp, timeframe_minutes: int, now: datetime,
                  max_age_hours: float, allow_stale: bool) -> list[str]:
    """Refuse bars from the future or older than the allowed age; the warnings to record when stale is allowed."""
    now_utc = pd.Timestamp(now).tz_convert("UTC")
    newest = f"{wib_text(newest_start.to_pydatetime())} ({newest_start:%Y-%m-%d %H:%M} UTC)"
    if newest_start > now_utc + pd.Timedelta(minutes=1):
        raise DataError(
            f"{origin}: the newest bar starts at {newest}, which is in the future (now is "
            f"{now_utc:%Y-%m-%d %H:%M} UTC); the 'server_timezone' setting is probably wrong"
        )
    age = bar_age(newest_start, timeframe_minutes, now_utc)
    hours = age / pd.Timedelta(hours=1)
    if hours <= max_age_hours:
        return []
    message = (f"{origin}: the newest bar, {newest}, is {hours:.1f} market hours old (weekends and holidays not "
               f"counted), more than 'max_bar_age_hours' = {max_age_hours:g}")
    if allow_stale:
        return [message + "; training on it because 'allow_stale_data' is on"]
    raise DataError(message + "; refusing to train on stale bars. Use fresh bars, or pass --allow-stale "
                    "(setting 'allow_stale_data') to train on these anyway")
