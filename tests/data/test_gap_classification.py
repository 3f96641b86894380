"""find_gaps counts the short pauses in bulk and remembers each gap's market time: the report is the one the
gap-by-gap classification gives, on real bars with their weekends, holidays and an outage cut into them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from autotrainer.data.market_hours import LONG_GAP, NORMAL_GAP, Gap, GapReport, find_gaps
from autotrainer.data.market_week import market_time_between


def _gap_by_gap(times: pd.Series, timeframe_minutes: int) -> GapReport:
    """The classification as it was written first: every positive gap looked at in turn."""
    report = GapReport()
    starts = pd.DatetimeIndex(times).as_unit("ns")
    ends = starts + pd.Timedelta(minutes=timeframe_minutes)
    raw = starts[1:] - ends[:-1]
    for position in np.flatnonzero(raw > pd.Timedelta(0)):
        after, before = ends[position], starts[position + 1]
        if before - after <= NORMAL_GAP:
            report.pauses += 1
            continue
        market = market_time_between(after, before)
        report.closures += int(market < before - after)
        if market >= LONG_GAP:
            report.missing_days.append(Gap(after, before, market))
        elif market > NORMAL_GAP:
            report.outages.append(Gap(after, before, market))
    return report


def test_gaps_are_classified_as_one_by_one(sample_frame: pd.DataFrame) -> None:
    times = sample_frame["time"]
    cut = times.drop(index=range(6000, 6300)).drop(index=range(9000, 9012)).reset_index(drop=True)  # a day, 3 hours
    for series in (times, cut):
        for start in range(0, len(series) - 4000, 2500):  # overlapping windows share their gaps
            window = series.iloc[start:start + 8000]
            fast, slow = find_gaps(window, 15), _gap_by_gap(window, 15)
            assert fast == slow
            assert fast.summary() == slow.summary() and fast.warnings("bars") == slow.warnings("bars")
    assert find_gaps(cut, 15).missing_days and find_gaps(cut, 15).outages
