"""Checks every source's bars pass, on the real bars: gaps, the broker's clock and the bars' age."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE, recorded_runs

from autotrainer.config import Settings
from autotrainer.data.market_hours import bar_age, find_gaps
from autotrainer.data.sources import check_freshness, load_bars
from autotrainer.errors import DataError
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store


def write_server_csv(frame: pd.DataFrame, path: Path, clock: str = "Europe/Athens") -> Path:
    """Bars as an MQL script writes them: server wall time in `clock` (a zone, or 'America/New_York+07:00')."""
    if clock == "America/New_York+07:00":
        wall = frame["time"].dt.tz_convert("America/New_York").dt.tz_localize(None) + pd.Timedelta(hours=7)
    else:
        wall = frame["time"].dt.tz_convert(clock).dt.tz_localize(None)
    frame.assign(time=wall.dt.strftime("%Y.%m.%d %H:%M:%S")).to_csv(path, index=False)
    return path


def test_weekends_holidays_and_daily_breaks_are_normal_gaps(sample_frame: pd.DataFrame) -> None:
    """The 15,000 real bars span Christmas, New Year and US holidays' early closes: no warning."""
    report = find_gaps(sample_frame["time"], 15)
    assert report.missing_days == []
    assert report.closures == 35  # 32 weekends + Christmas + New Year + the Thanksgiving weekend's early close
    assert report.pauses == 126  # the daily 17:00-18:00 New York break
    assert len(report.outages) == 6 and max(g.market_time for g in report.outages) == pd.Timedelta(hours=5)


def test_a_missing_day_inside_the_week_is_a_warning(sample_frame: pd.DataFrame, tmp_path: Path,
                                                    make_settings: Callable[..., Settings]) -> None:
    frame = sample_frame.iloc[-3000:]
    day = frame["time"].dt.tz_convert("America/New_York").dt.date.astype(str)
    holed = frame[day != "2026-01-28"]  # a Wednesday
    bars = load_bars(make_settings(source=str(write_server_csv(holed, tmp_path / "holed.csv"))), 3000)
    assert bars.warnings == [f"{tmp_path / 'holed.csv'}: gap inside the trading week: 1.0 days of market time "
                             "missing between 2026-01-28 05:00 and 2026-01-29 05:00 UTC"]
    assert any("1 gap(s) of a day or more inside the week" in note for note in bars.notes)


def test_market_age_does_not_count_the_weekend(sample_frame: pd.DataFrame) -> None:
    friday_close = sample_frame[sample_frame["time"] < pd.Timestamp("2026-02-07", tz="UTC")]["time"].iloc[-1]
    assert friday_close == pd.Timestamp("2026-02-06 21:45", tz="UTC")  # 16:45 New York, the last bar of the week
    sunday_evening = pd.Timestamp("2026-02-08 21:00", tz="UTC")  # 16:00 New York: market still shut
    assert bar_age(friday_close, 15, sunday_evening) == pd.Timedelta(0)
    tuesday = pd.Timestamp("2026-02-10 22:00", tz="UTC")
    assert bar_age(friday_close, 15, tuesday) == pd.Timedelta(hours=48)


@pytest.mark.parametrize(
    ("now", "allow", "outcome"),
    [
        ("2026-02-08T21:00+00:00", False, "fresh"),  # Sunday: the Friday close is the newest bar there is
        ("2026-02-11T12:00+00:00", False, r"is 62\.0 market hours old \(weekends and holidays not counted\), more "
                                          r"than 'max_bar_age_hours' = 48; refusing to train on stale bars"),
        ("2026-02-11T12:00+00:00", True, "training on it because 'allow_stale_data' is on"),
        ("2026-02-05T12:00+00:00", False, r"starts at 2026-02-07 04:45 WIB \(2026-02-06 21:45 UTC\), which is in the "
                                          r"future .* the 'server_timezone' setting is probably wrong"),
    ],
    ids=["weekend", "stale", "stale-allowed", "future"],
)
def test_freshness(now: str, allow: bool, outcome: str, sample_frame: pd.DataFrame, tmp_path: Path,
                   make_settings: Callable[..., Settings]) -> None:
    frame = sample_frame[sample_frame["time"] < pd.Timestamp("2026-02-07", tz="UTC")].iloc[-2000:]
    settings = make_settings(source=str(write_server_csv(frame, tmp_path / "bars.csv")), allow_stale_data=allow)
    bars = load_bars(settings, 2000)
    moment = pd.Timestamp(now).to_pydatetime()
    if outcome == "fresh":
        check_freshness(bars, settings, moment)
        assert bars.warnings == []
    elif allow:
        check_freshness(bars, settings, moment)
        assert outcome in bars.warnings[-1]
    else:
        with pytest.raises(DataError, match=outcome) as err:
            check_freshness(bars, settings, moment)
        assert err.value.exit_code == 2


def test_stale_file_fails_the_run_and_changes_no_model(sample_frame: pd.DataFrame, tmp_path: Path,
                                                       make_settings: Callable[..., Settings]) -> None:
    retrain(make_settings(**PUBLISHABLE, source="sample"), "initial")
    before = {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir() if p.is_file()}
    path = write_server_csv(sample_frame.iloc[-3000:], tmp_path / "old.csv")
    a_month_later = pd.Timestamp("2026-03-11 02:00", tz="UTC").to_pydatetime()
    outcome = retrain(make_settings(**{**PUBLISHABLE, "allow_stale_data": False}, source=str(path)), "daily",
                      now=a_month_later)
    assert outcome.exit_code == 2 and outcome.record.status == "failed"
    assert "refusing to train on stale bars" in outcome.record.error_message
    assert {p.name: p.read_bytes() for p in (tmp_path / "models").iterdir() if p.is_file()} == before
    allowed = retrain(make_settings(**PUBLISHABLE, source=str(path)), "daily", now=a_month_later)
    assert allowed.exit_code == 0 and any("allow_stale_data" in w for w in allowed.record.warnings)
    assert [r.source for r in recorded_runs(tmp_path / "data")] == ["sample", str(path), str(path)]
    assert store.read_manifest(tmp_path / "models")["data"]["source"] == str(path)


def test_a_wrong_server_clock_is_refused_with_the_right_one_suggested(
    sample_frame: pd.DataFrame, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    path = write_server_csv(sample_frame.iloc[-3000:], tmp_path / "bars.csv")
    with pytest.raises(DataError, match=r"with server_timezone 'UTC' only 0 of 7 weekly closes .* the others mostly "
                                        r"end at 19:00\. 'Europe/Athens' puts 7 of 7 at 17:00 .*Set server_timezone = "
                                        r"'Europe/Athens'") as err:
        load_bars(make_settings(source=str(path), server_timezone="UTC"), 3000)
    assert err.value.exit_code == 2
    unchecked = load_bars(make_settings(source=str(path), server_timezone="UTC", check_server_clock=False), 3000)
    assert unchecked.frame["time"].iloc[-1] == sample_frame["time"].iloc[-1] + pd.Timedelta(hours=2)


def test_a_us_daylight_saving_broker_clock_round_trips_and_is_told_apart(
    sample_frame: pd.DataFrame, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Between the EU and US clock changes (2025-10-27..31) 'New York + 7' and Europe/Athens differ by an hour."""
    autumn = sample_frame[(sample_frame["time"] > pd.Timestamp("2025-09-01", tz="UTC"))
                          & (sample_frame["time"] < pd.Timestamp("2025-12-01", tz="UTC"))].reset_index(drop=True)
    path = write_server_csv(autumn, tmp_path / "ny7.csv", clock="America/New_York+07:00")
    bars = load_bars(make_settings(source=str(path), server_timezone="America/New_York+07:00"), 10_000)
    pd.testing.assert_frame_equal(bars.frame, autumn)
    with pytest.raises(DataError, match=r"'America/New_York\+07:00' puts 12 of 13 at 17:00 \(it differs in the weeks "
                                        r"of 2025-10-31\)"):
        load_bars(make_settings(source=str(path), server_timezone="Europe/Athens"), 10_000)
