"""The schedule's calendar is worked out once per day and kept (schedule/windows.py): its answers equal the
windows worked out from scratch at every 15-minute tick, whatever zone the moment is given in, and a decision
does not depend on what the caches already hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest

from autotrainer.config import Settings
from autotrainer.schedule import windows
from autotrainer.schedule.policy import LastRuns, ModelState, SchedulerState, decide
from autotrainer.timeutil import NEW_YORK, WIB, wib_text

SETTINGS = {
    "default": Settings(),
    "window across midnight": Settings(daily_retrain_hour_wib=0, retrain_window_minutes=180),
    "weekend off, late hour": Settings(daily_retrain_hour_wib=23, retrain_window_minutes=45, weekend_retrain=False),
}
# Two weeks in each New York season (the weekly close moves an hour in WIB between them), every 15 minutes.
TICKS = [start + timedelta(minutes=15 * i) for start in (datetime(2026, 3, 2, tzinfo=timezone.utc),
                                                          datetime(2026, 10, 26, tzinfo=timezone.utc))
         for i in range(14 * 96)]


def _bounds(day: datetime, settings: Settings) -> tuple[datetime, datetime]:
    """The window of `day`'s WIB date, from scratch (the calendar as it was before it was kept)."""
    centre = day.astimezone(WIB).replace(hour=settings.daily_retrain_hour_wib, minute=0, second=0, microsecond=0)
    half = timedelta(minutes=settings.retrain_window_minutes)
    return centre - half, centre + half


def _type(moment: datetime, settings: Settings) -> str | None:
    if moment.astimezone(WIB).weekday() >= 5:
        return "weekend" if settings.weekend_retrain else None
    return "daily"


def _in_window(now: datetime, settings: Settings) -> str | None:
    for day in (now - timedelta(days=1), now, now + timedelta(days=1)):
        start, end = _bounds(day, settings)
        if start <= now <= end:
            return _type(start + timedelta(minutes=settings.retrain_window_minutes), settings)
    return None


def _weekly_close(moment: datetime) -> datetime:
    local = moment.astimezone(NEW_YORK)
    friday = local.date() - timedelta(days=(local.weekday() - 4) % 7)
    return datetime.combine(friday, time(17), tzinfo=NEW_YORK).astimezone(timezone.utc)


def _next_window(after: datetime, settings: Settings) -> datetime:
    for offset in range(-1, 9):
        start, end = _bounds(after + timedelta(days=offset), settings)
        kind = _type(start + timedelta(minutes=settings.retrain_window_minutes), settings)
        opens = start if kind == "daily" else max(start, _weekly_close(start)) if kind == "weekend" else None
        if opens is not None and opens <= end and opens > after:
            return opens
    raise AssertionError("no window within a week")


@pytest.mark.parametrize("name", SETTINGS)
def test_the_kept_calendar_equals_the_calendar_worked_out_at_each_tick(name: str) -> None:
    settings = SETTINGS[name]
    for tick in TICKS:
        for now in (tick, tick.astimezone(WIB), tick.astimezone(NEW_YORK)):
            kind, ahead = windows.window_and_next(now, settings)
            assert kind == windows.in_window(now, settings) == _in_window(now, settings), now
            expected = _next_window(now, settings)
            assert ahead.opens == windows.next_window(now, settings) == expected, now
            assert ahead.opens.tzinfo is expected.tzinfo and ahead.opens_text == wib_text(expected)
            assert windows.opening_kind(ahead) == _in_window(ahead.opens, settings)
        assert windows.in_window(tick, settings, weekend_retrain=True) == _in_window(
            tick, replace(settings, weekend_retrain=True))
        assert windows.weekly_close(tick) == _weekly_close(tick)


def _state(daily: datetime, weekend: datetime) -> SchedulerState:
    runs = {"daily": LastRuns(daily, daily, "success", 0.70), "weekend": LastRuns(weekend, weekend, "success", 0.70)}
    return SchedulerState(ModelState(True, "run-1", daily, 0.70), runs)


def test_a_decision_does_not_depend_on_what_the_caches_hold() -> None:
    settings = Settings()
    states = [_state(datetime(2026, 3, 9, 20, tzinfo=timezone.utc), datetime(2026, 3, 7, tzinfo=timezone.utc)),
              _state(datetime(2026, 10, 29, 22, tzinfo=timezone.utc), datetime(2026, 10, 30, 22, tzinfo=timezone.utc))]
    warm = [decide(now, state, settings) for state in states for now in TICKS]
    for cached in (windows._day_window, windows._opening_kind, windows._weekly_close):
        cached.cache_clear()
    cold = [decide(now, state, settings) for state in reversed(states) for now in reversed(TICKS)][::-1]
    assert cold == warm
    assert {d.hold for d in warm} >= {"before_last_run", "min_hours_between_retrain", "weekly_close", "weekend_done"}
    assert {d.training_type for d in warm if d.due} == {"daily", "weekend"}
