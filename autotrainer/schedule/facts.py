"""What the retraining decision reads: the active model with its newest live measurement, and per training
type the newest runs. Plain frozen values: `schedule.state` saves and loads them, `schedule.policy` decides
from them. Only the standard library (`autotrainer check`'s not-due path imports this).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from autotrainer.rules import REJECTED
from autotrainer.timeutil import as_utc

TRAINED = ("success", "warning", REJECTED)  # statuses of runs that actually trained a candidate


@dataclass(frozen=True)
class LastRuns:
    """What the decision needs to know about one training type's history."""

    attempt: datetime | None = None  # newest run of this type, any outcome
    trained: datetime | None = None  # newest run that trained a candidate (published or rejected)
    status: str | None = None  # outcome of the newest run
    test_auc: float | None = None  # test AUC of the newest run that trained


NEVER_RAN = LastRuns()  # the runs of a type that never ran (one shared instance: it is frozen)


@dataclass(frozen=True)
class ModelState:
    """The active model as the scheduler sees it, with its newest live measurement (from `auc --live`)."""

    published: bool = False
    run_id: str | None = None
    trained_at: datetime | None = None
    test_auc: float | None = None
    live_auc: float | None = None
    live_measured_at: datetime | None = None
    live_auc_low: float | None = None
    live_auc_high: float | None = None
    live_bars: int | None = None
    live_signals: int | None = None
    live_hit_rate: float | None = None
    live_hit_rate_low: float | None = None
    live_hit_rate_high: float | None = None
    live_drift_share: float | None = None  # share of inputs with PSI > 0.2 since training (models.guard.drift)
    live_drift_bars: int | None = None
    live_guard_withheld: float | None = None  # share of those bars the guard withheld the signal on
    broken: str | None = None  # why the active pair does not verify (then it counts as not published)

    @property
    def current_auc(self) -> float | None:
        """Newest live measurement when one exists, else the test AUC from the manifest."""
        return self.live_auc if self.live_auc is not None else self.test_auc

    def evidence(self) -> dict[str, Any] | None:
        """The live numbers the emergency rule judged, for `check --json` (None when never measured)."""
        if self.live_auc is None and self.live_drift_share is None:
            return None
        return {"live_drift_share": self.live_drift_share, "live_drift_bars": self.live_drift_bars,
                "live_guard_withheld": self.live_guard_withheld, "live_auc": self.live_auc, "live_auc_low": self.live_auc_low, "live_auc_high": self.live_auc_high,
                "live_bars": self.live_bars, "live_signals": self.live_signals, "live_hit_rate": self.live_hit_rate,
                "live_hit_rate_low": self.live_hit_rate_low, "live_hit_rate_high": self.live_hit_rate_high,
                "measured_at": as_utc(self.live_measured_at).isoformat() if self.live_measured_at else None}


@dataclass(frozen=True)
class SchedulerState:
    model: ModelState = field(default_factory=ModelState)
    runs: dict[str, LastRuns] = field(default_factory=dict)

    def last(self, training_type: str) -> LastRuns:
        return self.runs.get(training_type, NEVER_RAN)

    def last_trained(self, types: tuple[str, ...]) -> datetime | None:
        return _newest([self.runs.get(t, NEVER_RAN).trained for t in types])

    def last_attempt(self, types: tuple[str, ...]) -> datetime | None:
        return _newest([self.runs.get(t, NEVER_RAN).attempt for t in types])


def _newest(times: list[datetime | None]) -> datetime | None:
    """The latest of the times given (the first of equal ones), None when none is."""
    known = [t for t in times if t is not None]
    return max(known) if known else None
