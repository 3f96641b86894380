"""What a run, a rollback or a blocked retrain tells the world outside the tool: the bot dashboard's model card
(rewritten whenever the live pair changes) and the operator's notifications. Each hook is a few lines in
its use case and never raises: the run's outcome, files and exit code stay what they were."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from autotrainer.config import Settings
from autotrainer.history import words
from autotrainer.history.records import RunRecord
from autotrainer.masking import redact
from autotrainer.notify import limits, message, send
from autotrainer.timeutil import utc_now

log = logging.getLogger("autotrainer")
# The guards that keep a due retrain from running (schedule.policy's `hold`); the weekend's own waits
# (weekly_close, weekend_done) and a --now in the past are how the schedule works, not a block.
BLOCKING_HOLDS = ("min_hours_between_retrain", "emergency_min_hours", "loop_guard", "initial_retry",
                  "auto_retrain_off")


def after_run(settings: Settings, record: RunRecord, swapped: bool) -> None:
    """A retrain finished: refresh the dashboard card if the live pair changed (it published, or restored a
    backup over a broken pair), and notify its outcome."""
    if swapped:
        refresh_dashboard(settings)
    outcome = words.outcome(record.status)
    kinds = (("emergency",) if record.training_type == "emergency" else ()) + (
        (outcome,) if outcome in ("failed", "rejected", "published") else ())
    if kinds:
        send.announce(settings, kinds, message.run_message(record, kinds[0]), f"autotrainer: retrain {outcome}")


def after_rollback(settings: Settings, manifest: dict[str, Any], backup: str, reason: str,
                   replaced: Path | None) -> None:
    """A rollback made a backed-up pair live again: the card describes it, and the operator hears of it."""
    refresh_dashboard(settings)
    send.announce(settings, ("rollback",), message.rollback_message(manifest, backup, reason,
                                                                    str(replaced) if replaced else None),
                  "autotrainer: model rolled back")


def expired(settings: Settings, active: dict[str, Any]) -> None:
    """`check --run` found the live model past `model_max_age_hours`: one message per expired model (a newly
    published one ends the episode), none while the model is fresh."""
    state = active.get("expiry") or {}
    if "expired" not in settings.notify_on or not send.configured(settings):
        return
    try:
        if not limits.new_episode(settings.data_dir, active.get("run_id") if state.get("expired") else None,
                                  kind="expired"):
            return
    except OSError as exc:
        log.warning("Notification (expired) not sent: its state cannot be kept (%s)", exc)
        return
    send.announce(settings, ("expired",), message.expired_message(str(active["run_id"]), state),
                  "autotrainer: model expired")


def blocked(settings: Settings, hold: str | None, reason: str, next_window: datetime) -> None:
    """`check --run` found a due retrain held back by a guard: one message per episode (the same guard on
    check after check), none while nothing is held."""
    if "blocked" not in settings.notify_on or not send.configured(settings):
        return
    try:
        if not limits.new_episode(settings.data_dir, hold if hold in BLOCKING_HOLDS else None):
            return
    except OSError as exc:
        log.warning("Notification (blocked) not sent: its state cannot be kept (%s)", exc)
        return
    send.announce(settings, ("blocked",), message.blocked_message(str(hold), reason, next_window),
                  "autotrainer: retrain blocked")


def refresh_dashboard(settings: Settings, now: datetime | None = None) -> None:
    """Rewrite `dashboard_metrics_file` for the live pair ('' switches it off); a failure is a warning."""
    from autotrainer.store.dashboard import write_model_metrics

    if not settings.dashboard_metrics_file:
        return
    target = Path(settings.dashboard_metrics_file)
    try:
        if write_model_metrics(settings.models_dir, target, now or utc_now()) is not None:
            log.info("Dashboard model card written to %s", target)
    except Exception as exc:  # noqa: BLE001 - the pair is live whatever happens to its card
        log.warning("Dashboard model card %s not written: %s", target,
                    redact(f"{type(exc).__name__}: {exc}", settings.secrets()))


def try_channels(settings: Settings) -> dict[str, str | None]:
    """`notify --test`: one message to every channel set up, now, whatever notify_on and the hourly limit
    say; what each channel answered (empty when none is set up)."""
    names = list(send.channels_of(settings, "", ""))
    if not names:
        return {}
    text = message.test_message(str(settings.home), settings.symbol, settings.notify_on, names)
    return send.send_now(settings, text, "autotrainer: test")
