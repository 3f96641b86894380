"""Market time as plain datetimes: the expiry's arithmetic, across a weekend and a holiday."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from autotrainer.data.market_week import market_time_after, market_time_between

FRIDAY_NOON = datetime(2026, 1, 30, 12, 0, tzinfo=timezone.utc)  # the week closes at 22:00 UTC (17:00 New York)


@pytest.mark.parametrize("start", [FRIDAY_NOON, datetime(2025, 12, 24, 20, 0, tzinfo=timezone.utc),
                                   datetime(2026, 1, 31, 12, 0, tzinfo=timezone.utc)])  # Christmas; a Saturday
@pytest.mark.parametrize("hours", [1.0, 10.0, 72.0, 200.0])
def test_market_time_after_is_the_inverse_of_market_time_between(start: datetime, hours: float) -> None:
    end = market_time_after(start, hours)
    assert market_time_between(start, end) == timedelta(hours=hours)
    assert market_time_between(start, end - timedelta(minutes=1)) < timedelta(hours=hours)


def test_72_market_hours_from_friday_noon_skip_the_weekend() -> None:
    assert market_time_after(FRIDAY_NOON, 10) == datetime(2026, 1, 30, 22, 0, tzinfo=timezone.utc)
    assert market_time_after(FRIDAY_NOON, 72) == datetime(2026, 2, 4, 12, 0, tzinfo=timezone.utc)
