"""`check`: decide whether a retrain is due and why; with --run, perform it under the lock.

Deciding imports no model library and creates no file: the retrain is imported only when one runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Optional

from autotrainer.config import Settings
from autotrainer.errors import ModelStoreError
from autotrainer.jobs.announce import blocked, expired
from autotrainer.jobs.session import plugins_from_home
from autotrainer.schedule import state as scheduler_state
from autotrainer.schedule.policy import Decision, decide
from autotrainer.store.expiry import expiry
from autotrainer.store.pairs import read_manifest

if TYPE_CHECKING:  # the retrain is imported only when one runs
    from autotrainer.jobs.retrain import RetrainOutcome


@dataclass
class CheckResult:
    """What `check` decided, where it looked, and the retrain it ran (if any)."""

    decision: Decision
    where: dict[str, str]  # the folders this check looked at (see `folders`)
    outcome: Optional["RetrainOutcome"] = None  # None when nothing ran (not due, or no longer due under the lock)
    active: dict[str, Any] = field(default_factory=dict)  # the active model's edge after costs (`active_edge`)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code if self.outcome else 0


def folders(settings: Settings) -> dict[str, str]:
    """The home and the folders it resolves to: an operator sees which installation answered."""
    return {"home": str(settings.home), "models_dir": str(settings.models_dir), "data_dir": str(settings.data_dir)}


EDGE_KEYS = ("edge_verdict", "edge_signals", "edge_mean", "edge_low", "edge_high", "edge_profit_factor",
             "edge_mean_spreads", "edge_always_long_mean", "edge_threshold")


def active_edge(settings: Settings, moment: datetime) -> dict[str, Any]:
    """The active model's test-slice edge after costs, as its manifest records it, and whether it has expired
    at `moment` (a plain JSON read and date arithmetic: the not-due check stays light). Empty when nothing is
    published; a `problem` when the manifest is unreadable."""
    try:
        manifest = read_manifest(settings.models_dir)
    except ModelStoreError as exc:
        return {"run_id": None, "problem": str(exc)}
    if manifest is None:
        return {}
    edge = manifest["metrics"].get("edge") if isinstance(manifest["metrics"].get("edge"), dict) else {}
    return {"run_id": manifest["run_id"], "confidence_threshold": manifest.get("confidence_threshold"),
            **{key: edge.get(key) for key in EDGE_KEYS}, "expiry": expiry(manifest, moment)}


def check(settings: Settings, moment: datetime, simulated: bool, run: bool,
          decided: Callable[[CheckResult, bool], None]) -> CheckResult:
    """Decide at `moment`; `decided(result, running)` is told before any retrain starts. With `run` and a
    retrain due, decide again under the lock and run it (at `moment` only when it is `simulated`)."""
    result = CheckResult(decide(moment, scheduler_state.current(settings), settings), folders(settings),
                         active=active_edge(settings, moment))
    running = run and result.decision.due
    decided(result, running)
    if run:  # the scheduler's check: a held-back retrain and an expired model are worth one message per episode
        blocked(settings, result.decision.hold, result.decision.reason, result.decision.next_window)
        expired(settings, result.active)
    if running:
        from autotrainer.jobs.retrain import run_due

        plugins_from_home(settings)
        result.outcome = run_due(settings, moment if simulated else None)
    return result
