"""How often messages go out: one per kind an hour (an emergency storm sends one), and a blocked retrain
once per episode. The state is a small JSON file in data_dir, written atomically."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from autotrainer.fsutil import write_atomic

STATE_FILE = "notify_state.json"
INTERVAL = timedelta(hours=1)


def read(data_dir: Path) -> dict[str, Any]:
    """The state; an unreadable or missing file is a fresh start (at worst one message too many)."""
    try:
        state = json.loads((data_dir / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"sent": {}, "blocked": None}
    return state if isinstance(state, dict) and isinstance(state.get("sent"), dict) else {"sent": {}, "blocked": None}


def write(data_dir: Path, state: dict[str, Any]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(data_dir / STATE_FILE, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))


def claim(data_dir: Path, key: str, now: datetime) -> str | None:
    """Take the hour's message of `key`: None when it may go (and is now counted), else when the last one went."""
    state = read(data_dir)
    last = state["sent"].get(key)
    try:
        recent = last is not None and now - datetime.fromisoformat(last) < INTERVAL
    except (TypeError, ValueError):
        recent = False
    if recent:
        return str(last)
    state["sent"][key] = now.isoformat()
    write(data_dir, state)
    return None


def new_episode(data_dir: Path, hold: str | None, kind: str = "blocked") -> bool:
    """Whether `hold` starts a new episode of `kind` (remembered): the guard holding a retrain back, or the
    expired model's run id; None ends the current one."""
    state = read(data_dir)
    if state.get(kind) == hold:
        return False
    state[kind] = hold
    write(data_dir, state)
    return hold is not None
