"""When the FX and metals market is shut, as plain datetimes: light enough for the not-due `check`.

Gold and FX trade from Sunday 17:00 to Friday 17:00 New York time on every broker; the market is also shut
on Christmas Day, New Year's Day and (for metals) Good Friday. `market_hours` judges bars with this, and the
model's expiry counts its age with it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dateutil.easter import easter

from autotrainer.timeutil import CLOSE_HOUR_NEW_YORK, NEW_YORK, as_utc


def _new_york(day: date, days: int = 0) -> datetime:
    """17:00 New York on `day` + `days`, in UTC."""
    moment = datetime.combine(day + timedelta(days=days), datetime.min.time()).replace(hour=CLOSE_HOUR_NEW_YORK)
    return as_utc(moment.replace(tzinfo=NEW_YORK))


def _holidays(year: int) -> set[date]:
    return {date(year, 12, 25), date(year, 1, 1), easter(year) - timedelta(days=2)}


def closures(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Merged UTC windows in which the market is shut (weekends and holidays) that overlap [start, end)."""
    first = start.astimezone(NEW_YORK).date() - timedelta(days=3)
    last = end.astimezone(NEW_YORK).date() + timedelta(days=1)
    holidays = set().union(*(_holidays(year) for year in range(first.year, last.year + 1)))
    windows = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        if day.weekday() == 4:  # Friday 17:00 to Sunday 17:00
            windows.append((_new_york(day), _new_york(day, 2)))
        if day in holidays:  # from the evening before to the evening of the holiday
            windows.append((_new_york(day, -1), _new_york(day)))
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(w for w in windows if w[1] > start and w[0] < end):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def market_time_between(start: datetime, end: datetime) -> timedelta:
    """How much of [start, end) the market was open (zero when end is not after start)."""
    if end <= start:
        return timedelta(0)
    shut = sum(((min(hi, end) - max(lo, start)) for lo, hi in closures(start, end)), timedelta(0))
    return (end - start) - shut


def market_time_after(start: datetime, hours: float) -> datetime:
    """The moment at which `hours` of market time have passed since `start` (closures skipped)."""
    moment, left = start, timedelta(hours=hours)
    for lo, hi in closures(start, start + left * 2 + timedelta(days=10)):  # the week is open 5 days of 7
        if hi <= moment:
            continue
        if lo > moment:
            if moment + left <= lo:
                break
            left -= lo - moment
        moment = hi
    return moment + left
