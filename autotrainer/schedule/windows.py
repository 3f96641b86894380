"""The schedule's calendar: the daily retrain windows (WIB) and the market's weekly close (New York).

Each WIB day's window (its bounds, its type, when it can first start a retrain) depends only on that date and
three settings, so it is worked out once per day and kept (lru caches keyed on those values, so a cached answer
is the answer): the replay asks at every 15-minute tick, `autotrainer check` a few times per run. Only the
standard library: `check`'s not-due path imports this.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import NamedTuple

from autotrainer.config import Settings
from autotrainer.timeutil import CLOSE_HOUR_NEW_YORK, NEW_YORK, WIB, as_utc, wib_text

# The FX and metals week ends Friday 17:00 New York on every broker (market_hours.py has the full hours;
# it imports pandas, which `check` must not, so the one moment the schedule needs is computed here).
FRIDAY = 4
DAY = timedelta(days=1)
DAYS_CACHED = 4096  # WIB days x window settings kept: over ten years of one policy's days


class Window(NamedTuple):
    """One WIB day's retrain window: its bounds (inclusive), type, and when it can first start a retrain; each
    moment also in UTC, so a UTC moment is compared with it without converting zones."""

    start: datetime
    end: datetime
    kind: str | None  # 'daily', 'weekend', or None: a weekend day with weekend retraining off
    opens: datetime | None  # None: no scheduled retrain can start in it
    start_utc: datetime
    end_utc: datetime
    opens_utc: datetime | None
    opens_text: str  # `opens` as the reasons give it ('2026-11-24 04:30 WIB'; '-' for none)
    key: tuple[date, int, int, int, bool]  # what it was worked out from: WIB date, fold, hour, minutes, weekend_retrain

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` is inside the window (a UTC one compared in UTC: the same instants, found faster)."""
        if moment.tzinfo is timezone.utc:
            return self.start_utc <= moment <= self.end_utc
        return self.start <= moment <= self.end

    def opens_after(self, moment: datetime) -> bool:
        """Whether the window can start a retrain strictly after `moment`."""
        if self.opens is None:
            return False
        return self.opens_utc > moment if moment.tzinfo is timezone.utc else self.opens > moment


def _window_type(moment: datetime, weekend_retrain: bool) -> str | None:
    """'daily' or 'weekend' if that WIB day has a window at all."""
    if moment.astimezone(WIB).weekday() >= 5:
        return "weekend" if weekend_retrain else None
    return "daily"


@lru_cache(maxsize=DAYS_CACHED)
def _day_window(day: date, fold: int, hour: int, minutes: int, weekend_retrain: bool) -> Window:
    """The window of WIB calendar day `day` (`fold` as the moment that named the day had it)."""
    centre = datetime.combine(day, time(hour, fold=fold), tzinfo=WIB)
    half = timedelta(minutes=minutes)
    start, end = centre - half, centre + half
    kind = _window_type(start + half, weekend_retrain)
    opens = None
    if kind == "daily":
        opens = start
    elif kind == "weekend":  # the weekly close when it falls inside the window; None when it comes after
        opens = max(start, weekly_close(start))
        opens = opens if opens <= end else None
    return Window(start, end, kind, opens, as_utc(start), as_utc(end), None if opens is None else as_utc(opens),
                  wib_text(opens), (day, fold, hour, minutes, weekend_retrain))


def _window(day: datetime, hour: int, minutes: int, weekend_retrain: bool) -> Window:
    """The window of the WIB calendar day containing `day`."""
    local = day.astimezone(WIB)
    return _day_window(local.date(), local.fold, hour, minutes, weekend_retrain)


def in_window(now: datetime, settings: Settings, weekend_retrain: bool | None = None) -> str | None:
    """The scheduled type whose window contains `now` (windows may cross midnight), else None; `weekend_retrain`
    overrides the setting (whether `now` would be in a weekend window were weekend retraining on)."""
    weekend = settings.weekend_retrain if weekend_retrain is None else weekend_retrain
    return _kind(now, _near(now, settings.daily_retrain_hour_wib, settings.retrain_window_minutes, weekend))


def next_window(after: datetime, settings: Settings) -> datetime:
    """The first moment strictly after `after` at which a scheduled window can start a retrain."""
    opens = next_opening(after, settings).opens
    assert opens is not None  # next_opening returns a window that opens
    return opens


def next_opening(after: datetime, settings: Settings) -> Window:
    """The window of `next_window` (its opening is that moment)."""
    return window_and_next(after, settings)[1]


def opening_kind(window: Window) -> str | None:
    """`in_window` of the window's opening, under the settings it was worked out from (kept per window)."""
    return _opening_kind(window.key)


@lru_cache(maxsize=DAYS_CACHED)
def _opening_kind(key: tuple[date, int, int, int, bool]) -> str | None:
    """`opening_kind` of the window `key` names."""
    _, _, hour, minutes, weekend_retrain = key
    opens = _day_window(*key).opens
    return None if opens is None else _kind(opens, _near(opens, hour, minutes, weekend_retrain))


def window_and_next(now: datetime, settings: Settings) -> tuple[str | None, Window]:
    """`in_window(now)` and `next_opening(now)` together, each day looked up once: the policy asks both at every
    tick of a replay."""
    key = settings.daily_retrain_hour_wib, settings.retrain_window_minutes, settings.weekend_retrain
    near = _near(now, *key)
    for offset in range(-1, 9):
        window = near[offset + 1] if offset <= 1 else _window(now + offset * DAY, *key)
        if window.opens_after(now):
            return _kind(now, near), window
    raise AssertionError("a window opens within a week whenever weekdays exist")


def _near(moment: datetime, hour: int, minutes: int, weekend_retrain: bool) -> tuple[Window, Window, Window]:
    """The windows of the WIB days of `moment` - 1 day, `moment` and `moment` + 1 day: the only ones that can
    contain it."""
    return (_window(moment - DAY, hour, minutes, weekend_retrain), _window(moment, hour, minutes, weekend_retrain),
            _window(moment + DAY, hour, minutes, weekend_retrain))


def _kind(moment: datetime, near: tuple[Window, Window, Window]) -> str | None:
    """The type of the first of the `near` windows that contains `moment`, else None."""
    for window in near:
        if window.contains(moment):
            return window.kind
    return None


def weekly_close(moment: datetime) -> datetime:
    """The market's weekly close (Friday 17:00 New York, DST included, in UTC) of the weekend `moment` belongs
    to: the same Friday from Friday to Sunday New York time, the previous one from Monday to Thursday. A
    holiday Friday closes the market earlier; the retrain after this moment still sees the whole week."""
    return _weekly_close(as_utc(moment))


@lru_cache(maxsize=DAYS_CACHED)
def _weekly_close(moment: datetime) -> datetime:
    """`weekly_close` of a UTC moment (kept by instant: UTC has no repeated hours, so equal keys are one moment)."""
    local = moment.astimezone(NEW_YORK)
    friday = local.date() - timedelta(days=(local.weekday() - FRIDAY) % 7)
    return as_utc(datetime.combine(friday, time(CLOSE_HOUR_NEW_YORK), tzinfo=NEW_YORK))
