"""The optional drift condition of the emergency rule: off by default, and it needs no labels."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from autotrainer.history.records import AucCheck
from autotrainer.schedule.policy import LastRuns, ModelState, SchedulerState, decide
from autotrainer.schedule.state import with_live
from autotrainer.timeutil import WIB

NOON = datetime(2026, 2, 4, 12, 0, tzinfo=WIB)  # a Wednesday, outside the retrain window


def _state(drift_share: float | None) -> SchedulerState:
    """A model measured on 150 bars since training: too few for an AUC, enough for the drift figures."""
    check = AucCheck("run-1", None, None, None, 150, "insufficient", drift_bars=150, drift_share=drift_share,
                     psi_max=1.5, guard_withheld_share=0.3)
    model = with_live(ModelState(True, "run-1", NOON - timedelta(hours=30), 0.53), check)
    return SchedulerState(model, {"daily": LastRuns(NOON - timedelta(hours=31), NOON - timedelta(hours=31), "success", 0.53)})


def test_drift_fires_an_emergency_only_when_switched_on(make_settings: Any) -> None:
    drifted = _state(0.45)
    assert drifted.model.live_auc is None and drifted.model.live_drift_share == 0.45
    off = decide(NOON, drifted, make_settings())  # default: drift_emergency_share = 0
    assert not off.due and off.evidence["live_drift_share"] == 0.45
    on = decide(NOON, drifted, make_settings(drift_emergency_share=0.3))
    assert on.due and on.training_type == "emergency"
    assert "45% of the inputs drifted (PSI > 0.2) on 150 bars" in on.reason
    calm = decide(NOON, _state(0.05), make_settings(drift_emergency_share=0.3))
    assert not calm.due and "below 30% (setting 'drift_emergency_share')" in calm.reason
