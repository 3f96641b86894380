"""The weekend retrain follows the market's weekly close (Friday 17:00 New York, DST included): one per
weekend, in the first weekend window at or after the close, never on a week missing its last bars."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from autotrainer.config import Settings, load_settings
from autotrainer.data.market_week import closures
from autotrainer.schedule.policy import LastRuns, ModelState, SchedulerState, decide
from autotrainer.schedule.windows import next_window, weekly_close
from autotrainer.timeutil import NEW_YORK, WIB

WINTER = {"fri": 27, "sat": 28, "sun": 29, "mon": 30}  # November 2026: New York on EST (UTC-5)
SUMMER = {"fri": 10, "sat": 11, "sun": 12, "mon": 13}  # July 2026: New York on EDT (UTC-4)


def winter(day: str, clock: str) -> datetime:
    return datetime.combine(date(2026, 11, WINTER[day]), datetime.strptime(clock, "%H:%M").time(), tzinfo=WIB)


def summer(day: str, clock: str) -> datetime:
    return datetime.combine(date(2026, 7, SUMMER[day]), datetime.strptime(clock, "%H:%M").time(), tzinfo=WIB)


def state(now: datetime, weekend: LastRuns | None = None) -> SchedulerState:
    """A published model, last daily retrain on Friday 05:00 WIB of that week, and optionally a weekend run."""
    friday = now.astimezone(WIB).replace(hour=5, minute=0) - timedelta(days=(now.astimezone(WIB).weekday() - 4) % 7)
    runs = {"daily": LastRuns(friday, friday, "success", 0.53)}
    if weekend is not None:
        runs["weekend"] = weekend
    return SchedulerState(ModelState(True, "run-1", None, 0.53), runs)


def test_the_winter_saturday_window_waits_for_the_close_at_05_00_wib() -> None:
    for clock in ("04:30", "04:45", "04:59"):
        now = winter("sat", clock)
        decision = decide(now, state(now), Settings())
        assert not decision.due and decision.hold == "weekly_close", clock
        assert "the week has not closed yet: it closes Fri 17:00 New York (Sat 05:00 WIB)" in decision.reason
        assert decision.next_window == winter("sat", "05:00")
    for clock in ("05:00", "05:15", "05:30"):
        now = winter("sat", clock)
        decision = decide(now, state(now), Settings())
        assert decision.due and decision.training_type == "weekend", clock
        assert "weekend: the week closed Fri 17:00 New York (Sat 05:00 WIB)" in decision.reason
    assert next_window(winter("fri", "06:00"), Settings()) == winter("sat", "05:00")


def test_in_summer_the_week_closes_at_04_00_wib_so_the_whole_saturday_window_is_after_it() -> None:
    now = summer("sat", "04:30")
    decision = decide(now, state(now), Settings())
    assert decision.due and decision.training_type == "weekend"
    assert "weekend: the week closed Fri 17:00 New York (Sat 04:00 WIB)" in decision.reason
    assert next_window(summer("fri", "06:00"), Settings()) == summer("sat", "04:30")


@pytest.mark.parametrize("at", [winter, summer])
@pytest.mark.parametrize("status", ["success", "warning", "rolled_back"])
def test_one_weekend_retrain_per_weekend(at, status: str) -> None:
    """Saturday's retrain (published or rejected) serves the weekend: Sunday has nothing new to train on."""
    saturday = at("sat", "05:00")
    ran = LastRuns(saturday, saturday, status, 0.53)
    for clock in ("04:30", "05:00", "05:30"):
        now = at("sun", clock)
        decision = decide(now, state(now, ran), Settings())
        assert not decision.due and decision.hold == "weekend_done", clock
        assert f"this weekend's retrain ran at {saturday:%Y-%m-%d} 05:00 WIB" in decision.reason
        assert decision.next_window == at("mon", "04:30")  # Sunday's window has nothing to offer
    assert "this weekend's retrain ran at" in decide(at("sat", "05:20"), state(at("sat", "05:20"), ran),
                                                     Settings()).reason


@pytest.mark.parametrize("at", [winter, summer])
def test_a_weekend_retrain_that_did_not_train_is_retried_and_last_weekends_does_not_count(at) -> None:
    saturday = at("sat", "05:00")
    failed = LastRuns(saturday, None, "failed", None)
    sunday = at("sun", "05:00")
    assert decide(sunday, state(sunday, failed), Settings()).training_type == "weekend"
    last_week = LastRuns(saturday - timedelta(days=7), saturday - timedelta(days=7), "success", 0.53)
    assert decide(saturday, state(saturday, last_week), Settings()).training_type == "weekend"
    # A weekend run before this week's close (by hand, or on an older version) does not serve this weekend.
    early = LastRuns(at("sat", "03:50"), at("sat", "03:50"), "success", 0.53)
    assert decide(sunday, state(sunday, early), Settings()).training_type == "weekend"


def test_a_window_that_ends_before_the_close_is_skipped_for_the_next_one() -> None:
    """At midnight WIB, Saturday's window (Fri 23:30-Sat 00:30 WIB) ends before the close: Sunday's is the first after it."""
    midnight = Settings(daily_retrain_hour_wib=0)
    friday_night = winter("fri", "23:45")
    held = decide(friday_night, state(friday_night), midnight)
    assert not held.due and held.hold == "weekly_close"
    assert held.next_window == winter("sun", "00:00") - timedelta(minutes=30)
    sunday = winter("sat", "23:45")
    assert decide(sunday, state(sunday), midnight).training_type == "weekend"


def test_weekly_close_is_the_close_market_hours_knows_across_a_year_of_dst_changes() -> None:
    """Every Friday of 2025 and 2026: the weekend closure market_hours.py computes starts at weekly_close (or a
    day earlier when the Friday is a holiday), and it is 04:00 WIB Saturday in summer, 05:00 in winter."""
    friday, seen = date(2025, 1, 3), set()
    while friday.year < 2027:
        saturday_noon = datetime(friday.year, friday.month, friday.day, 12, tzinfo=timezone.utc) + timedelta(days=1)
        close = weekly_close(saturday_noon)
        assert close.astimezone(NEW_YORK).strftime("%Y-%m-%d %a %H:%M") == f"{friday} Fri 17:00"
        shut = closures(pd.Timestamp(saturday_noon), pd.Timestamp(saturday_noon) + pd.Timedelta(minutes=1))
        assert shut[0][0] in (pd.Timestamp(close), pd.Timestamp(close) - pd.Timedelta(days=1)), friday
        seen.add(close.astimezone(WIB).strftime("%a %H:%M"))
        assert weekly_close(close - timedelta(hours=1)) == close  # Friday afternoon: the close still to come
        assert weekly_close(close + timedelta(days=4)) == close  # Sunday to Thursday: the last one
        friday += timedelta(days=7)
    assert seen == {"Sat 04:00", "Sat 05:00"}


# --- Replay: a winter weekend on the bundled bars (the week closes 22:00 UTC Friday = 05:00 WIB Saturday) ---

FAST = {"initial_bars": 3000, "daily_bars": 3000, "weekend_bars": 4000, "emergency_bars": 3000,
        "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
        "publish_floor_auc": 0.0, "min_bars": 1000}
FRIDAY_MORNING = datetime(2025, 11, 6, 23, 0, tzinfo=timezone.utc)  # Friday 2025-11-07 06:00 WIB
MONDAY_MORNING = datetime(2025, 11, 9, 23, 0, tzinfo=timezone.utc)  # Monday 2025-11-10 06:00 WIB
CLOSE = datetime(2025, 11, 7, 22, 0, tzinfo=timezone.utc)


def test_a_replayed_weekend_has_exactly_one_weekend_retrain_on_the_whole_week(tmp_path: Path) -> None:
    from autotrainer.replay.simulate import run_replay

    settings = load_settings(None, {**FAST, "models_dir": tmp_path / "live" / "models",
                                    "data_dir": tmp_path / "live" / "data"}, env={})
    run = run_replay(settings, tmp_path / "out", FRIDAY_MORNING, MONDAY_MORNING)
    weekend = [t.record for t in run.trained if t.record.training_type == "weekend"]
    assert len(weekend) == 1, [(r.started_at, r.status) for r in weekend]
    record = weekend[0]
    assert datetime.fromisoformat(record.started_at) == CLOSE  # the first tick at or after the close
    assert datetime.fromisoformat(record.data_end) + timedelta(minutes=15) == CLOSE  # the week's last bar is in
    assert "weekend: the week closed Fri 17:00 New York (Sat 05:00 WIB)" in record.reason
    # Held at 04:30 and 04:45 Saturday for the close; after the run, the rest of Saturday's window and Sunday's.
    assert run.holds.get("weekly_close") == 1 and run.holds.get("weekend_done") == 2


@pytest.mark.usefixtures("published_pair")
def test_check_says_which_close_the_weekend_retrain_waits_for(tmp_path: Path) -> None:
    """`autotrainer check --now` on a real published model, in winter (the week closes 05:00 WIB Saturday)."""
    import os
    import subprocess
    import sys

    from conftest import PUBLISHABLE

    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()})

    def check(now: str) -> str:
        result = subprocess.run([sys.executable, "-m", "autotrainer", "check", "--now", now], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    early = check("2026-12-05T04:30")
    assert "not due" in early and "the week has not closed yet: it closes Fri 17:00 New York (Sat 05:00 WIB)" in early
    assert "next window 2026-12-05 05:00 WIB" in early
    after = check("2026-12-05T05:00")
    assert "due: weekend" in after and "weekend: the week closed Fri 17:00 New York (Sat 05:00 WIB)" in after
