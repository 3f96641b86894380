"""Settle the runs whose processes died, against the pair the bot serves now (the caller holds the run lock).

A run killed after its pair went live is recorded as published from that pair's manifest; any other dead
run is recorded interrupted. The history decides how to record it; this module tells it what is live.
"""

from __future__ import annotations

from pathlib import Path

from autotrainer.history.records import LivePair
from autotrainer.history.service import History
from autotrainer.store import pairs as store


def settle_dead_runs(history: History, models_dir: Path, current_run_id: str = "",
                     state: store.ActiveState | None = None) -> list[str]:
    """Mark every 'running' run but `current_run_id` as settled; returns the ids it settled. `state`: the
    pair the caller has just read under the lock (default: read it here)."""
    state = state if state is not None else store.active_state(models_dir)
    live = None
    if state.published and state.manifest is not None:
        live = LivePair(state.manifest, str((models_dir / store.MANIFEST).resolve()),
                        store.sha256_bytes(store.manifest_bytes(state.manifest)))
    return history.mark_interrupted(current_run_id, live)
