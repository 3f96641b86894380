"""The small state file `autotrainer check` decides from, so the not-due path stays fast.

`data_dir/scheduler-state.json` holds, per training type, the last attempt and the last run that trained,
plus the active model's AUCs and newest live measurement. It is derived data: every run rebuilds it at
its end from the run history (the record of truth) and the published manifest, and a missing or
unreadable file is rebuilt the same way. Only a holder of the run lock writes it, so a reader (`check`,
`auc`) can never put back a state older than the run that just finished; `check --run` decides again from
the history itself, under the lock. Reading it needs only the standard library.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from autotrainer.config import Settings
from autotrainer.fsutil import write_atomic
from autotrainer.schedule.facts import TRAINED, LastRuns, ModelState, SchedulerState
from autotrainer.store import pairs as store
from autotrainer.timeutil import as_utc

STATE_FILE = "scheduler-state.json"
FORMAT = "autotrainer-scheduler-state/2"
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


TIME_FIELDS = {"trained_at", "live_measured_at", "attempt", "trained"}


def _fields(cls: type, data: Any) -> Any:
    """A dataclass from its JSON form: every field present with a value of its declared type, times parsed;
    ValueError naming the field otherwise."""
    from dataclasses import fields

    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__} is {type(data).__name__}, not an object")
    values = {}
    for f in fields(cls):
        value = data[f.name] if f.name in data or f.default is not None else None  # a field added later: empty
        if not _FIELD_CHECKS[str(f.type)](value):
            raise ValueError(f"{cls.__name__}.{f.name} = {str(value)[:40]!r} is not {f.type}")
        values[f.name] = _time(value) if f.name in TIME_FIELDS else value
    return cls(**values)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Declared field type -> what its JSON value may be (times are ISO strings).
_FIELD_CHECKS = {
    "bool": lambda v: isinstance(v, bool),
    "datetime | None": lambda v: v is None or isinstance(v, str),
    "str | None": lambda v: v is None or isinstance(v, str),
    "float | None": lambda v: v is None or _number(v),
    "int | None": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
}


def from_json(data: Any) -> SchedulerState:
    """The state from its JSON form; ValueError (or KeyError) when it is not one this version wrote."""
    if not isinstance(data, dict):
        raise ValueError(f"it holds a JSON {type(data).__name__}, not an object")
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown state format {str(data.get('format'))[:40]!r}")
    if not isinstance(data["runs"], dict) or not set(data["runs"]) <= set(TYPES):
        raise ValueError("'runs' is not an object of training types")
    runs = {t: _fields(LastRuns, r) for t, r in data["runs"].items()}
    return SchedulerState(_fields(ModelState, data["model"]), runs)


def load(settings: Settings) -> SchedulerState | None:
    """The saved state, or None when it is missing or unusable (then it must be rebuilt). A file that is
    there but is not a state (torn, another shape, nested without end) is ignored with a warning: it is
    derived data, and refusing to decide because of it would block the scheduler for good."""
    import logging

    path = settings.data_dir / STATE_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        problem = str(exc)
    else:
        try:
            return from_json(json.loads(raw.decode("utf-8")))
        except (ValueError, KeyError, TypeError, RecursionError) as exc:  # UnicodeError is a ValueError
            problem = f"{type(exc).__name__}: {str(exc)[:120]}"
    logging.getLogger("autotrainer").warning(
        "Scheduler state %s is unusable (%s); ignored and rebuilt from the run history", path, problem)
    return None


def model_state(settings: Settings) -> ModelState:
    """The active model from its verified manifest. A broken pair counts as none published, so the scheduler
    asks for a retrain at once, and that run restores a good backup or replaces the pair."""
    state = store.active_state(settings.models_dir)
    if not state.published:
        return ModelState(broken=state.problem if state.broken else None)
    manifest = state.manifest
    return ModelState(True, manifest["run_id"], _time(manifest.get("created_at")), manifest["metrics"]["test_auc"])


def with_live(model: ModelState, live: Any) -> ModelState:
    """The model's state with a live measurement (an AucCheck) of it; unchanged when the measurement is of
    another model, or had too few bars for an AUC (its drift figures, which need no labels, still count)."""
    if live is None or live.model_run_id != model.run_id:
        return model
    # `replace` without its walk over the fields (the values of a frozen dataclass are its __dict__): a replay
    # builds this at every tick
    values = vars(model) | {"live_drift_share": getattr(live, "drift_share", None),
                            "live_drift_bars": getattr(live, "drift_bars", None),
                            "live_guard_withheld": getattr(live, "guard_withheld_share", None)}
    if live.auc is not None:
        values.update(live_auc=live.auc, live_measured_at=_time(live.measured_at), live_auc_low=live.auc_low,
                      live_auc_high=live.auc_high, live_bars=live.bars_scored, live_signals=live.signal_count,
                      live_hit_rate=live.signal_hit_rate, live_hit_rate_low=live.signal_hit_rate_low,
                      live_hit_rate_high=live.signal_hit_rate_high)
    return ModelState(**values)


def rebuild(settings: Settings, history: Any = None) -> SchedulerState:
    """Derive the state from the run history and the manifest (nothing is written)."""
    from autotrainer.history.service import History

    own = history is None
    history = history or History(settings, read_only=True)
    try:
        runs = {}
        for kind in TYPES:
            last = history.latest(kind)
            # The newest run of a type that trained is the newest run when that one trained; none without runs.
            trained = last if last is None or last.status in TRAINED else history.latest(kind, TRAINED)
            runs[kind] = LastRuns(_time(last.started_at) if last else None, _time(trained.started_at) if trained else None,
                                  last.status if last else None, trained.test_auc if trained else None)
        model = model_state(settings)
        live = history.latest_auc_check(model.run_id) if model.run_id else None
        return SchedulerState(with_live(model, live), runs)
    finally:
        if own:
            history.close()


def refresh(settings: Settings, history: Any) -> None:
    """Rebuild and save after a run changed history or the model (the caller holds the run lock); a failure
    only means the next check rebuilds it."""
    import logging

    try:
        save(settings, rebuild(settings, history))
    except Exception as exc:  # noqa: BLE001 - never fail the run that just finished
        logging.getLogger("autotrainer").warning("Scheduler state not refreshed (%s); the next check rebuilds it", exc)


def refresh_if_unlocked(settings: Settings, history: Any) -> None:
    """Refresh unless a retrain or rollback is running: it refreshes the state itself when it ends, and a
    state built now, from history it has not finished writing, must not be saved after its own."""
    _unless_locked(settings, lambda: refresh(settings, history))


def _unless_locked(settings: Settings, write: Any) -> None:
    from autotrainer.errors import LockedError
    from autotrainer.lock import run_lock

    try:
        with run_lock(settings.data_dir, 0, command="autotrainer (scheduler state)"):
            write()
    except LockedError:
        pass


def save(settings: Settings, state: SchedulerState) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(settings.data_dir / STATE_FILE, json.dumps(to_json(state), indent=1).encode("utf-8"))


def current(settings: Settings) -> SchedulerState:
    """The saved state (fast path), rebuilt from history when missing (and saved, if its folder exists and no
    run holds the lock).
    The model part always comes from the live manifest, so a model swapped by hand is never judged by
    stale numbers."""
    state = load(settings)
    if state is None:
        state = rebuild(settings)
        if settings.data_dir.is_dir():  # looking creates nothing: a fresh folder stays empty
            _unless_locked(settings, lambda: save(settings, state))
        return state
    model = model_state(settings)
    if model.run_id == state.model.run_id:
        return state
    return SchedulerState(model, state.runs)
