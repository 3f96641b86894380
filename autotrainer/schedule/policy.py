"""The retraining policy as one pure function: (now, state, settings) -> Decision.

Rules, each number a setting (the seed's defaults in brackets):
- initial: no model has ever been published -> retrain at any time; a failed or rejected first attempt
  is retried no sooner than `emergency_min_hours` [4 h] later, so an honest low AUC cannot loop.
- daily / weekend: inside the window `daily_retrain_hour_wib` [05:00] +/- `retrain_window_minutes` [30]
  WIB, Monday-Friday daily [8,000 bars / 50 rounds], Saturday-Sunday weekend [15,000 / 80] if
  `weekend_retrain`; at least `min_hours_between_retrain` [20 h] after the last scheduled retrain.
  The weekend retrain is tied to the market's weekly close (Friday 17:00 New York, 05:00 WIB Saturday in
  winter, 04:00 in summer): one per weekend, due in the first weekend window at or after that close, so it
  trains on the whole week rather than a week missing its last bars.
- emergency: the current AUC (newest live measurement, else the model's test AUC) is below
  `min_auc_threshold` [0.65], `auto_retrain_on_low_auc` is on, and the last retrain of any kind was at
  least `emergency_min_hours` [4 h] ago. Loop guard: if the last emergency retrain did not lift the AUC
  above the threshold, no emergency runs again before the next scheduled window. Optionally (setting
  `drift_emergency_share`, off by default) also when that share of the model's inputs drifted on the bars
  since training, as the newest live measurement found: no labels needed.
Everything is decided in WIB (UTC+7, no DST); the host's own zone never enters. The calendar (windows, weekly
close) is in `windows`, what the decision reads in `facts`. No heavy imports here: `autotrainer check` runs
this every few minutes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from autotrainer.config import Settings
from autotrainer.history.words import outcome
from autotrainer.schedule.facts import LastRuns, ModelState, SchedulerState
from autotrainer.schedule.windows import (
    Window,
    in_window,
    next_opening,
    next_window,
    opening_kind,
    weekly_close,
    window_and_next,
)
from autotrainer.timeutil import WIB, as_utc, wib_text

SCHEDULED_TYPES = ("initial", "daily", "weekend")


@dataclass(frozen=True)
class Decision:
    due: bool
    training_type: str | None
    bars: int | None
    rounds: int | None
    reason: str
    trigger: str | None
    next_window: datetime
    hold: str | None = None  # the guard that held a retrain back: 'loop_guard', 'emergency_min_hours', ...
    emergency_rule: str | None = None  # the rule the emergency part was judged by ('evidence' or 'seed')
    evidence: dict[str, Any] | None = None  # the active model's live numbers that rule saw
    emergency_reason: str | None = None  # the emergency rule's own verdict (it applies at any time of day)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["next_window"] = as_utc(self.next_window).isoformat()
        data["next_window_wib"] = wib_text(self.next_window)
        data["next_window_local"] = as_utc(self.next_window).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        return data


def _weekend_retrained(moment: datetime, state: SchedulerState) -> datetime | None:
    """When the weekend of `moment` already had its retrain (one that trained, published or rejected), else None."""
    trained = state.last("weekend").trained
    return trained if trained is not None and trained >= weekly_close(moment) else None


def _upcoming(upcoming: Window, state: SchedulerState, settings: Settings) -> Window:
    """The next window that can start a retrain from `upcoming` on (the next opening), past weekend windows whose
    weekend already had its retrain."""
    while opening_kind(upcoming) == "weekend" and _weekend_retrained(upcoming.opens, state):
        upcoming = next_opening(upcoming.opens, settings)
    return upcoming


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} h"


def decide(now: datetime, state: SchedulerState, settings: Settings) -> Decision:
    """Whether a retrain is due now, of which type, and a reason a person can read."""
    now = as_utc(now)
    window, window_ahead = window_and_next(now, settings)
    window_ahead = _upcoming(window_ahead, state, settings)
    upcoming = window_ahead.opens

    judged = (settings.emergency_rule, state.model.evidence()) if state.model.published else (None, None)

    latest = state.last_attempt(("initial", "daily", "weekend", "emergency"))
    before_last_run = latest is not None and now < latest  # `check --now` in the past, or a clock set back
    emergency_due, emergency_reason, emergency_hold = (
        _emergency(now, state, settings) if state.model.published and not before_last_run else (False, None, None))

    def due(kind: str, trigger: str, reason: str) -> Decision:
        bars, rounds = settings.bars_and_rounds(kind)
        return Decision(True, kind, bars, rounds, reason, trigger, upcoming, None, *judged, emergency_reason)

    def not_due(reason: str, hold: str | None = None) -> Decision:
        return Decision(False, None, None, None, f"{reason}; next window {window_ahead.opens_text}", None, upcoming,
                        hold, *judged, emergency_reason)

    if before_last_run:
        return not_due(f"the given time is before the last run at {wib_text(latest)}, so the guards cannot be "
                       "judged; nothing is due", "before_last_run")
    if not state.model.published:
        last = state.last("initial")
        wait = timedelta(hours=settings.emergency_min_hours)
        if last.attempt is None or now - last.attempt >= wait:
            if state.model.broken:
                return due("initial", "initial", f"the active pair does not verify ({state.model.broken}); the retrain "
                                                 "restores a good backup or replaces it")
            return due("initial", "initial", "no model has ever been published")
        return not_due(f"no model published yet; the initial attempt {_hours(now - last.attempt)} ago ended "
                       f"'{outcome(last.status)}', retried after {_hours(wait)} (setting 'emergency_min_hours')",
                       "initial_retry")

    scheduled_hold = None
    weekend_hold = _weekend_hold(now, state) if window == "weekend" else None
    if weekend_hold is not None:
        scheduled_reason, scheduled_hold = weekend_hold
    elif window is not None:
        since_scheduled = state.last_trained(SCHEDULED_TYPES)
        guard = timedelta(hours=settings.min_hours_between_retrain)
        if since_scheduled is None or now - since_scheduled >= guard:
            return due(window, "schedule", f"{window} window {settings.daily_retrain_hour_wib:02d}:00 WIB "
                                           f"+/- {settings.retrain_window_minutes} min{_week_closed(now, window)}")
        scheduled_reason = (f"in the {window} window, but the last scheduled retrain was {_hours(now - since_scheduled)}"
                            f" ago (needs {_hours(guard)}, setting 'min_hours_between_retrain')")
        scheduled_hold = "min_hours_between_retrain"
    elif not settings.weekend_retrain and in_window(now, settings, weekend_retrain=True) is not None:
        scheduled_reason = "weekend retraining is off (setting 'weekend_retrain')"
    else:
        scheduled_reason = "outside the retrain window"

    if not emergency_due:
        return not_due(f"{scheduled_reason}; {emergency_reason}", emergency_hold or scheduled_hold)
    return due("emergency", "emergency", emergency_reason)


def _close_text(close: datetime) -> str:
    return f"Fri 17:00 New York ({as_utc(close).astimezone(WIB):%a %H:%M} WIB)"


def _week_closed(now: datetime, window: str) -> str:
    """The reason's tail for a due weekend retrain: which close it follows."""
    return f"; weekend: the week closed {_close_text(weekly_close(now))}" if window == "weekend" else ""


def _weekend_hold(now: datetime, state: SchedulerState) -> tuple[str, str] | None:
    """(why, hold) when a weekend window may not retrain now: the week has not closed yet, or this weekend
    already had its retrain; None when it may."""
    close = weekly_close(now)
    if now < close:
        return (f"in the weekend window, but the week has not closed yet: it closes {_close_text(close)}, and "
                "the weekend retrain waits for the whole week's bars", "weekly_close")
    ran = _weekend_retrained(now, state)
    if ran is not None:
        return (f"this weekend's retrain ran at {wib_text(ran)} (one per weekend, after the week closed "
                f"{_close_text(close)})", "weekend_done")
    return None


def manual_training_type(now: datetime, published: bool, settings: Settings) -> str:
    """For a manual run: initial when nothing is published, weekend on Saturday/Sunday (WIB), else daily."""
    if not published:
        return "initial"
    weekend = as_utc(now).astimezone(WIB).weekday() >= 5
    return "weekend" if weekend and settings.weekend_retrain else "daily"


def _emergency(now: datetime, state: SchedulerState, settings: Settings) -> tuple[bool, str, str | None]:
    """(due, why, the guard that held it back or None). Failed, skipped and interrupted emergency runs count
    as attempts: with MetaTrader 5 down, cron would otherwise start one every 15 minutes."""
    low, why = _evidence_rule(state.model, settings) if settings.emergency_rule == "evidence" else _seed_rule(
        state.model, settings)
    if not low:
        low, why = _drift_rule(state.model, settings, why)
    if not low:
        return False, why, None
    if not settings.auto_retrain_on_low_auc:
        return False, f"{why}, but emergency retraining is off (setting 'auto_retrain_on_low_auc')", "auto_retrain_off"
    last_any = state.last_attempt(("initial", "daily", "weekend", "emergency"))
    wait = timedelta(hours=settings.emergency_min_hours)
    if last_any is not None and now - last_any < wait:
        return (False, f"{why}, but the last retrain attempt was {_hours(now - last_any)} ago (emergency needs "
                       f"{_hours(wait)}, setting 'emergency_min_hours')", "emergency_min_hours")
    last_emergency = state.last("emergency")
    if last_emergency.attempt is not None and not _lifted(last_emergency, settings):
        reopen = next_window(last_emergency.attempt, settings)
        if now < reopen:
            reached = "-" if last_emergency.test_auc is None else f"{last_emergency.test_auc:.4f}"
            result = {"rejected": "was rejected", "failed": "failed", "skipped": "was skipped",
                      "interrupted": "was interrupted", "running": "did not finish"}.get(
                outcome(last_emergency.status), f"reached only {reached}")
            return (False, f"{why}, but the last emergency retrain ({wib_text(last_emergency.attempt)}) {result}; "
                           f"no further emergency retrain before the next scheduled window {wib_text(reopen)}",
                    "loop_guard")
    return True, why, None


def _seed_rule(model: ModelState, settings: Settings) -> tuple[bool, str]:
    """The seed's rule: the current AUC (live, else test) is below `min_auc_threshold`."""
    auc, threshold = model.current_auc, settings.min_auc_threshold
    source = "live" if model.live_auc is not None else "test"
    if auc is None:
        return False, "the active model has no AUC to judge (rule 'seed')"
    if auc >= threshold:
        return False, f"{source} AUC {auc:.4f} is at or above {threshold} (rule 'seed')"
    return True, f"{source} AUC {auc:.4f} is below {threshold} (rule 'seed', setting 'min_auc_threshold')"


def _evidence_rule(model: ModelState, settings: Settings) -> tuple[bool, str]:
    """Due only when live bars show the active model is worse than the floor now: its live AUC's 95%
    interval lies wholly below `publish_floor_auc`, or its live signal hit rate's wholly below 50%."""
    floor = settings.publish_floor_auc
    if model.live_auc is None or model.live_auc_high is None:
        return False, (f"no live measurement of the active model on at least {settings.min_live_bars} new bars "
                       "yet (run `autotrainer auc --live`; rule 'evidence')")
    auc_text = (f"live AUC {model.live_auc:.4f} [95% CI {model.live_auc_low:.3f}-{model.live_auc_high:.3f}] on "
                f"{model.live_bars} bars")
    if model.live_auc_high < floor:
        return True, f"{auc_text} lies wholly below the floor {floor} (rule 'evidence', setting 'publish_floor_auc')"
    if model.live_hit_rate is not None and model.live_hit_rate_high is not None and model.live_hit_rate_high < 0.5:
        return True, (f"live signal hit rate {model.live_hit_rate:.3f} [95% CI {model.live_hit_rate_low:.3f}-"
                      f"{model.live_hit_rate_high:.3f}] on {model.live_signals} signals lies wholly below 50% "
                      "(rule 'evidence')")
    hits = ("" if model.live_hit_rate is None else
            f", signal hit rate {model.live_hit_rate:.3f} [95% CI {model.live_hit_rate_low:.3f}-"
            f"{model.live_hit_rate_high:.3f}] on {model.live_signals} signals")
    return False, f"no evidence the active model is worse than the floor {floor}: {auc_text}{hits} (rule 'evidence')"


def _drift_rule(model: ModelState, settings: Settings, why: str) -> tuple[bool, str]:
    """Due when at least `drift_emergency_share` of the inputs drifted since training (0: the rule is off);
    `why` is the AUC rule's verdict, kept in the reason."""
    share, limit = model.live_drift_share, settings.drift_emergency_share
    if limit <= 0 or share is None:
        return False, why
    text = f"{share:.0%} of the inputs drifted (PSI > 0.2) on {model.live_drift_bars} bars since training"
    if share >= limit:
        return True, f"{text}, at least {limit:.0%} (setting 'drift_emergency_share'); {why}"
    return False, f"{why}; {text}, below {limit:.0%} (setting 'drift_emergency_share')"


def _lifted(run: LastRuns, settings: Settings) -> bool:
    """Whether the last emergency run fixed what fired it: under 'seed' it reached `min_auc_threshold`;
    under 'evidence' it published a model (which then has to earn its own live evidence)."""
    if settings.emergency_rule == "evidence":
        return run.status in ("success", "warning")
    return run.status == "success" and run.test_auc is not None and run.test_auc >= settings.min_auc_threshold
