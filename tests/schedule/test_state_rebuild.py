"""The scheduler state's last runs: asking once when the newest run of a type trained gives what asking for
the newest trained run too gives, on the database and on the file history, whatever order statuses come in."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable

import pytest

from autotrainer.config import Settings
from autotrainer.history.records import RunRecord
from autotrainer.history.service import History
from autotrainer.schedule import state
from autotrainer.schedule.facts import TRAINED, LastRuns

STATUSES = ("success", "rolled_back", "skipped", "failed", "warning", "interrupted")


def _asking_twice(history: History) -> dict[str, LastRuns]:
    runs = {}
    for kind in state.TYPES:
        last, trained = history.latest(kind), history.latest(kind, TRAINED)
        runs[kind] = LastRuns(state._time(last.started_at) if last else None,
                              state._time(trained.started_at) if trained else None,
                              last.status if last else None, trained.test_auc if trained else None)
    return runs


@pytest.mark.parametrize("use_db", [True, False])
def test_last_runs_equal_asking_for_each(use_db: bool, make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(use_db=use_db)
    history = History(settings)
    kinds = itertools.cycle(("daily", "weekend", "daily", "emergency"))
    moments = [f"2026-03-{day:02d}T{hour:02d}:00:00+00:00" for day in range(2, 12) for hour in (5, 5, 17)]  # ties too
    try:
        assert state.rebuild(settings, history).runs == _asking_twice(history)  # nothing recorded yet
        for number, (moment, status) in enumerate(zip(moments, itertools.cycle(STATUSES))):
            record = RunRecord(run_id=f"run-{number:02d}", training_type=next(kinds), bars_used=8000,
                               num_boost_rounds=50, started_at=moment, status=status,
                               test_auc=0.5 + number / 1000 if status in TRAINED else None)
            history.start_run(record)
            assert state.rebuild(settings, history).runs == _asking_twice(history), number
    finally:
        history.close()
