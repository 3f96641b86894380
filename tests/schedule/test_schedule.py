"""The retraining policy at simulated times: every rule, its edges, and a host that observes DST."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from autotrainer.config import Settings
from autotrainer.schedule.policy import LastRuns, ModelState, SchedulerState, decide
from autotrainer.schedule.windows import next_window
from autotrainer.timeutil import WIB

DAYS = {"mon": 23, "tue": 24, "wed": 25, "thu": 26, "fri": 27, "sat": 28, "sun": 29}  # November 2026


def wib(day: str, clock: str) -> datetime:
    hour, minute = map(int, clock.split(":"))
    return datetime(2026, 11, DAYS[day], hour, minute, tzinfo=WIB)


SEED = Settings(emergency_rule="seed")


def state(auc: float = 0.70, scheduled_ago: float | None = 30.0, now: datetime | None = None,
          live: float | tuple[float, float, float] | None = None, emergency: LastRuns | None = None,
          published: bool = True, initial: LastRuns | None = None,
          hits: tuple[float, float, float, int] | None = None) -> SchedulerState:
    """A model with `auc`, last scheduled (daily) retrain `scheduled_ago` hours before `now`; `live` is a live
    AUC or (AUC, low, high) on 1,000 bars, `hits` a live signal hit rate (rate, low, high, signals)."""
    runs = {}
    if scheduled_ago is not None and now is not None:
        at = now - timedelta(hours=scheduled_ago)
        runs["daily"] = LastRuns(at, at, "success", auc)
    if emergency is not None:
        runs["emergency"] = emergency
    if initial is not None:
        runs["initial"] = initial
    auc_live = (live, live - 0.03, live + 0.03) if isinstance(live, float) else live
    model = ModelState(published, "run-1" if published else None, None, auc if published else None)
    if auc_live is not None:
        model = replace(model, live_auc=auc_live[0], live_auc_low=auc_live[1], live_auc_high=auc_live[2],
                        live_bars=1000, live_measured_at=now)
    if hits is not None:
        model = replace(model, live_hit_rate=hits[0], live_hit_rate_low=hits[1], live_hit_rate_high=hits[2],
                        live_signals=hits[3])
    return SchedulerState(model, runs)


WINDOW_CASES = [
    # day, WIB time, expected type (None = not due), reason fragment
    *[(d, "05:00", "daily", "daily window") for d in ("mon", "tue", "wed", "thu", "fri")],
    *[(d, "04:30", "daily", "daily window") for d in ("mon", "fri")],  # opening edge, inclusive
    *[(d, "05:30", "daily", "daily window") for d in ("tue", "thu")],  # closing edge, inclusive
    *[(d, "04:29", None, "outside the retrain window") for d in ("mon", "wed")],
    *[(d, "05:31", None, "outside the retrain window") for d in ("tue", "fri")],
    ("wed", "12:00", None, "outside the retrain window"),
    ("sat", "05:00", "weekend", "weekend window"),
    ("sun", "04:45", "weekend", "weekend window"),
    ("sun", "05:31", None, "outside the retrain window"),
]


@pytest.mark.parametrize(("day", "clock", "expected", "reason"), WINDOW_CASES)
def test_scheduled_windows(day: str, clock: str, expected: str | None, reason: str) -> None:
    now = wib(day, clock)
    decision = decide(now, state(now=now), Settings())
    assert (decision.training_type if decision.due else None) == expected
    assert reason in decision.reason
    if expected == "daily":
        assert (decision.bars, decision.rounds, decision.trigger) == (8000, 50, "schedule")
    if expected == "weekend":
        assert (decision.bars, decision.rounds) == (15000, 80)


def test_next_window_is_named_when_not_due() -> None:
    decision = decide(wib("wed", "12:00"), state(now=wib("wed", "12:00")), Settings())
    assert decision.next_window == wib("thu", "04:30")
    assert "next window 2026-11-26 04:30 WIB" in decision.reason
    # Saturday's window opens at 04:30 WIB, but in winter the week closes only at 05:00 WIB (tests/schedule/test_weekend_close.py).
    assert decide(wib("fri", "06:00"), state(now=wib("fri", "06:00")), Settings()).next_window == wib("sat", "05:00")
    weekday_only = Settings(weekend_retrain=False)
    assert decide(wib("fri", "06:00"), state(now=wib("fri", "06:00")), weekday_only).next_window == wib("mon", "04:30") + timedelta(days=7)


def test_twenty_hour_guard() -> None:
    now = wib("tue", "05:00")
    blocked = decide(now, state(scheduled_ago=19.99, now=now), Settings())
    assert not blocked.due and "needs 20.0 h, setting 'min_hours_between_retrain'" in blocked.reason
    assert blocked.next_window == wib("wed", "04:30")
    assert decide(now, state(scheduled_ago=20.0, now=now), Settings()).due
    assert decide(now, state(scheduled_ago=10.0, now=now), Settings(min_hours_between_retrain=8)).due


def test_weekend_off() -> None:
    now = wib("sat", "05:00")
    decision = decide(now, state(now=now), Settings(weekend_retrain=False))
    assert not decision.due and "weekend retraining is off" in decision.reason


def test_initial_at_any_time_with_backoff_after_a_failed_attempt() -> None:
    now = wib("wed", "14:07")
    first = decide(now, state(published=False, scheduled_ago=None), Settings())
    assert first.due and (first.training_type, first.bars, first.rounds, first.trigger) == ("initial", 8000, 50, "initial")
    tried = LastRuns(now - timedelta(hours=1), now - timedelta(hours=1), "rolled_back", 0.51)
    waiting = decide(now, state(published=False, scheduled_ago=None, initial=tried), Settings())
    assert not waiting.due and "ended 'rejected', retried after 4.0 h" in waiting.reason
    later = decide(now + timedelta(hours=3), state(published=False, scheduled_ago=None, initial=tried), Settings())
    assert later.due and later.training_type == "initial"


@pytest.mark.parametrize(
    ("auc", "live", "hours_since", "settings", "due", "reason"),
    [
        (0.60, None, 5.0, SEED, True, "test AUC 0.6000 is below 0.65 (rule 'seed'"),
        (0.60, None, 3.9, SEED, False, "the last retrain attempt was 3.9 h ago (emergency needs 4.0 h"),
        (0.60, None, 4.0, SEED, True, "below 0.65"),
        (0.60, None, 5.0, replace(SEED, auto_retrain_on_low_auc=False), False, "emergency retraining is off"),
        (0.70, None, 5.0, SEED, False, "test AUC 0.7000 is at or above 0.65"),
        (0.70, 0.55, 5.0, SEED, True, "live AUC 0.5500 is below 0.65"),  # live beats the manifest
        (0.60, 0.70, 5.0, SEED, False, "live AUC 0.7000 is at or above 0.65"),
        (0.60, None, 2.5, replace(SEED, emergency_min_hours=2), True, "below 0.65"),
    ],
)
def test_emergency_seed_rule(auc: float, live: float | None, hours_since: float, settings: Settings, due: bool,
                             reason: str) -> None:
    now = wib("wed", "14:00")
    decision = decide(now, state(auc=auc, live=live, scheduled_ago=hours_since, now=now), settings)
    assert decision.due is due and reason in decision.reason
    assert decision.emergency_rule == "seed"
    if due:
        assert (decision.training_type, decision.bars, decision.rounds, decision.trigger) == ("emergency", 8000, 50, "emergency")


@pytest.mark.parametrize(
    ("live", "hits", "due", "reason"),
    [
        (None, None, False, "no live measurement of the active model on at least 200 new bars yet"),
        ((0.47, 0.44, 0.50), None, True, "live AUC 0.4700 [95% CI 0.440-0.500] on 1000 bars lies wholly below the floor 0.52"),
        ((0.49, 0.46, 0.52), None, False, "no evidence the active model is worse than the floor 0.52"),  # touches it
        ((0.50, 0.47, 0.53), None, False, "no evidence"),
        ((0.51, 0.48, 0.54), (0.40, 0.33, 0.47), True, "live signal hit rate 0.400 [95% CI 0.330-0.470] on 180 signals"),
        ((0.51, 0.48, 0.54), (0.45, 0.38, 0.52), False, "signal hit rate 0.450 [95% CI 0.380-0.520] on 180 signals"),
    ],
)
def test_emergency_evidence_rule(live: tuple[float, float, float] | None, hits: tuple[float, float, float] | None,
                                 due: bool, reason: str) -> None:
    now = wib("wed", "14:00")
    hit_state = None if hits is None else (*hits, 180)
    decision = decide(now, state(auc=0.51, live=live, hits=hit_state, scheduled_ago=9, now=now), Settings())
    assert decision.due is due and reason in decision.reason, decision.reason
    assert decision.emergency_rule == "evidence" and "rule 'evidence'" in decision.reason
    assert (decision.evidence or {}).get("live_auc") == (live[0] if live else None)


def test_failed_and_skipped_emergencies_count_for_both_guards() -> None:
    """With MetaTrader 5 down every emergency fails: without counting attempts cron would start one every 15 min."""
    now = wib("tue", "12:00")
    bad = (0.45, 0.42, 0.48)
    for status in ("failed", "skipped", "interrupted"):
        attempt = LastRuns(now - timedelta(hours=1), None, status, None)
        early = decide(now, state(live=bad, scheduled_ago=30, now=now, emergency=attempt), Settings())
        assert not early.due and early.hold == "emergency_min_hours" and "last retrain attempt was 1.0 h ago" in early.reason
        later = now + timedelta(hours=4)
        held = decide(later, state(live=bad, scheduled_ago=34, now=later, emergency=attempt), Settings())
        assert not held.due and held.hold == "loop_guard" and "no further emergency retrain before" in held.reason
    assert decide(now, state(live=bad, scheduled_ago=30, now=now), Settings()).due  # no attempt yet: due


def test_loop_guard_holds_emergencies_until_the_next_window() -> None:
    emergency_at = wib("tue", "10:00")
    failed = LastRuns(emergency_at, emergency_at, "warning", 0.53)
    afternoon = wib("tue", "16:00")
    held = decide(afternoon, state(auc=0.53, scheduled_ago=30, now=afternoon, emergency=failed), SEED)
    assert not held.due and held.hold == "loop_guard"
    assert "reached only 0.5300; no further emergency retrain before the next scheduled window 2026-11-25 04:30 WIB" in held.reason
    rejected = replace(failed, status="rolled_back")
    assert "was rejected" in decide(afternoon, state(auc=0.53, now=afternoon, emergency=rejected), SEED).reason
    # After the next window opened (and >= 4 h since any retrain) emergencies may run again.
    next_day = wib("wed", "09:00")
    assert decide(next_day, state(auc=0.53, scheduled_ago=30, now=next_day, emergency=failed), SEED).due
    # An emergency that did lift the AUC does not hold the next one back.
    lifted = LastRuns(emergency_at, emergency_at, "success", 0.70)
    assert decide(afternoon, state(auc=0.70, live=0.60, now=afternoon, emergency=lifted), SEED).due
    # Under 'evidence' an emergency that published lifted it; a rejected one holds until the next window.
    bad = (0.45, 0.42, 0.48)
    assert decide(afternoon, state(live=bad, now=afternoon, emergency=failed), Settings()).due
    assert decide(afternoon, state(live=bad, now=afternoon, emergency=rejected), Settings()).hold == "loop_guard"


def test_window_that_crosses_midnight_belongs_to_the_day_it_is_centred_on() -> None:
    midnight = Settings(daily_retrain_hour_wib=0)
    cases = {("fri", "23:40"): "weekend", ("sat", "00:10"): "weekend", ("sun", "23:50"): "daily",
             ("mon", "23:45"): "daily"}
    for (day, clock), expected in cases.items():
        now = wib(day, clock)
        decision = decide(now, state(now=now), midnight)
        if expected == "weekend":  # Saturday's midnight window ends before the week closes (Fri 17:00 New York)
            assert not decision.due and "in the weekend window, but the week has not closed yet" in decision.reason
        else:
            assert decision.training_type == expected, (day, clock)
    assert next_window(wib("wed", "12:00"), midnight) == wib("wed", "23:30")


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Australia/Sydney"])
def test_host_time_zone_and_its_dst_change_nothing(zone: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Instants around the 2026 DST changes of the host zones, in and out of the WIB window.
    instants = [datetime(2026, m, d, h, mi, tzinfo=WIB) for m, d in ((3, 8), (3, 9), (3, 29), (4, 5), (10, 4),
                                                                       (10, 25), (11, 1), (11, 2))
                for h, mi in ((4, 29), (4, 30), (5, 0), (5, 30), (5, 31), (13, 0))]

    def decisions() -> list[tuple[bool, str | None, str]]:
        return [(d.due, d.training_type, d.reason) for d in
                (decide(t, state(now=t, auc=0.7, scheduled_ago=21), Settings()) for t in instants)]

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    in_utc = decisions()
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert decisions() == in_utc
        local = decide(instants[0], state(now=instants[0]), Settings()).to_json()["next_window_local"]
        assert local.endswith(time.strftime("%Z", time.localtime(decide(instants[0], state(now=instants[0]), Settings()).next_window.timestamp())))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert sum(d[0] for d in in_utc) > 0 and sum(not d[0] for d in in_utc) > 0


def test_a_broken_active_pair_is_due_at_once_and_says_why() -> None:
    now = wib("wed", "14:00")
    broken = SchedulerState(ModelState(broken="models/manifest.json is not valid JSON"), {})
    decision = decide(now, broken, Settings())
    assert decision.due and decision.training_type == "initial"
    assert "the active pair does not verify (models/manifest.json is not valid JSON)" in decision.reason
