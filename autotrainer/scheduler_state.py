"""The small state file `autotrainer check` decides from, so the not-due path stays fast.

`data_dir/scheduler-state.json` holds, per training type, the last attempt and the last run that trained,
plus the active model's AUCs. It is derived data: every run rebuilds it at its end from the run history
(the record of truth) and the published manifest, and a missing or unreadable file is rebuilt the same way.
Reading it needs only the standard library.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from autotrainer import store
from autotrainer.config import Settings
from autotrainer.fsutil import write_atomic
from autotrainer.schedule import TRAINED, LastRuns, ModelState, SchedulerState
from autotrainer.timeutil import as_utc

STATE_FILE = "scheduler-state.json"
FORMAT = "autotrainer-scheduler-state/1"
TYPES = ("initial", "daily", "weekend", "emergency")


def _time(text: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(text)) if text else None


def _text(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def to_json(state: SchedulerState) -> dict[str, Any]:
    model = {k: (_text(v) if isinstance(v, datetime) else v) for k, v in asdict(state.model).items()}
    runs = {t: {k: (_text(v) if isinstance(v, datetime) else v) for k, v in asdict(r).items()}
            for t, r in state.runs.items()}
    return {"format": FORMAT, "model": model, "runs": runs}


def from_json(data: dict[str, Any]) -> SchedulerState:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown state format {data.get('format')!r}")
    m = data["model"]
    model = ModelState(bool(m["published"]), m["run_id"], _time(m["trained_at"]), m["test_auc"], m["live_auc"],
                       _time(m["live_measured_at"]))
    runs = {t: LastRuns(_time(r["attempt"]), _time(r["trained"]), r["status"], r["test_auc"]) for t, r in data["runs"].items()}
    return SchedulerState(model, runs)


def load(settings: Settings) -> SchedulerState | None:
    """The saved state, or None when it is missing or unreadable (then it must be rebuilt)."""
    try:
        return from_json(json.loads((settings.data_dir / STATE_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def model_state(settings: Settings, live: Any = None) -> ModelState:
    """The active model from its manifest (no checksum work: the decision needs only its metadata)."""
    try:
        manifest = store.read_manifest(settings.models_dir)
    except Exception:  # noqa: BLE001 - an unreadable manifest means no usable model for the scheduler
        manifest = None
    if manifest is None:
        return ModelState()
    live_auc = live.auc if live is not None and live.model_run_id == manifest["run_id"] else None
    return ModelState(True, manifest["run_id"], _time(manifest.get("created_at")),
                      manifest.get("metrics", {}).get("test_auc"), live_auc,
                      _time(live.measured_at) if live_auc is not None else None)


def rebuild(settings: Settings, history: Any = None) -> SchedulerState:
    """Derive the state from the run history and the manifest, and save it."""
    from autotrainer.history import History

    own = history is None
    history = history or History(settings)
    try:
        runs = {}
        for kind in TYPES:
            last = history.latest(kind)
            trained = history.latest(kind, TRAINED)
            runs[kind] = LastRuns(_time(last.started_at) if last else None, _time(trained.started_at) if trained else None,
                                  last.status if last else None, trained.test_auc if trained else None)
        manifest = store.read_manifest(settings.models_dir) if settings.models_dir.exists() else None
        live = history.latest_auc_check(manifest["run_id"]) if manifest else None
        state = SchedulerState(model_state(settings, live), runs)
    finally:
        if own:
            history.close()
    save(settings, state)
    return state


def refresh(settings: Settings, history: Any) -> None:
    """Rebuild after a run changed history or the model; a failure only means the next check rebuilds it."""
    import logging

    try:
        rebuild(settings, history)
    except Exception as exc:  # noqa: BLE001 - never fail the run that just finished
        logging.getLogger("autotrainer").warning("Scheduler state not refreshed (%s); the next check rebuilds it", exc)


def save(settings: Settings, state: SchedulerState) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(settings.data_dir / STATE_FILE, json.dumps(to_json(state), indent=1).encode("utf-8"))


def current(settings: Settings) -> SchedulerState:
    """The saved state (fast path), rebuilt from history when missing. The model part always comes from
    the live manifest, so a model swapped by hand is never judged by stale numbers."""
    state = load(settings)
    if state is None:
        return rebuild(settings)
    model = model_state(settings)
    if model.run_id == state.model.run_id:
        return state
    return SchedulerState(model, state.runs)
