"""One engine per database URL in a process: the statements a History compiled stay compiled for the next
History, and yet each History starts on fresh connections and a closed one leaves none open."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
import sqlalchemy as sa

from autotrainer.config import Settings
from autotrainer.history.database import HistoryDatabase
from autotrainer.history.records import RunRecord
from autotrainer.history.service import History


def _run(run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, training_type="daily", bars_used=8000, num_boost_rounds=50,
                     started_at="2026-03-02T22:00:00+00:00", status="success", test_auc=0.52)


def _one_run_of_work(history: History, run_id: str) -> None:
    history.start_run(_run(run_id))
    history.latest("daily")
    history.latest(None, ("success", "warning"))
    history.latest_auc_check(run_id)


def test_the_next_history_compiles_nothing_again(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    for run_id in ("r0", "r1"):  # the first creates the schema (nothing to look up yet), the second finds it
        earlier = History(settings)
        _one_run_of_work(earlier, run_id)
        engine = earlier._db.engine
        earlier.close()
        assert engine.pool.checkedin() == 0  # closed: no connection left open
    misses: list[bool] = []

    def note(conn: object, cursor: object, statement: str, params: object, context: object, many: bool) -> None:
        misses.append(context is not None and context.cache_hit == engine.dialect.CACHE_MISS)

    sa.event.listen(engine, "before_cursor_execute", note)
    second = History(settings)
    try:
        _one_run_of_work(second, "r2")
        assert second._db.engine is engine
        assert misses and not any(misses)
        assert [r.run_id for r in second.view().runs] == ["r2", "r1", "r0"]
    finally:
        second.close()
        sa.event.remove(engine, "before_cursor_execute", note)


def test_a_database_file_replaced_between_histories_is_read_anew(make_settings: Callable[..., Settings],
                                                                tmp_path: Path) -> None:
    settings = make_settings()
    left_open = History(settings)  # never closed, as a careless caller would: its connection stays pooled
    _one_run_of_work(left_open, "old")
    other = make_settings(data_dir=tmp_path / "other")
    with_new = History(other)
    _one_run_of_work(with_new, "new")
    with_new.close()
    database = settings.data_dir / "autotrainer.db"
    database.unlink()
    shutil.copy(other.data_dir / "autotrainer.db", database)
    reader = History(settings)
    try:
        assert [r.run_id for r in reader.view().runs] == ["new"]
    finally:
        reader.close()
        left_open.close()


def test_in_memory_databases_stay_apart() -> None:
    first, second = HistoryDatabase("sqlite://"), HistoryDatabase("sqlite://")
    try:
        assert first.engine is not second.engine
        first.upsert("training_runs", [{"run_id": "only-here", "status": "success", "snapshot_seq": 2}])
        assert first.latest_run(None, None).run_id == "only-here" and second.latest_run(None, None) is None
    finally:
        first.close()
        second.close()


def test_only_a_history_marked_scratch_skips_the_disk_syncs(make_settings: Callable[..., Settings],
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A replay's own SQLite history commits without waiting for the disk, and its schema is checked once a
    process; every other keeps SQLite's default sync and is checked at every open."""
    from autotrainer.history.engines import mark_scratch
    from autotrainer.history.service import history_url

    live, scratch = make_settings(), make_settings(data_dir=tmp_path / "replay" / "data")
    mark_scratch(history_url(scratch))
    synchronous = {}
    for name, settings in (("live", live), ("scratch", scratch)):
        history = History(settings)
        history.start_run(_run(f"{name}-1"))
        with history._db.engine.connect() as connection:
            synchronous[name] = connection.execute(sa.text("PRAGMA synchronous")).scalar()
        assert history.latest("daily").run_id == f"{name}-1"  # the rows are there either way
        history.close()
    assert synchronous == {"live": 2, "scratch": 0}  # FULL, OFF
    checked: list[str] = []
    migrate = HistoryDatabase._migrate
    monkeypatch.setattr(HistoryDatabase, "_migrate", lambda self: checked.append(self.url) or migrate(self))
    for settings in (live, scratch, live, scratch):
        history = History(settings)
        assert history.latest("daily") is not None
        history.close()
    assert checked == [history_url(live)] * 2
    shutil.rmtree(scratch.data_dir)  # a new replay into the same folder: its new file is checked and created again
    history = History(scratch)
    history.start_run(_run("scratch-2"))
    assert history.latest("daily").run_id == "scratch-2" and not history.outbox.pending()
    history.close()
    assert checked == [history_url(live)] * 2 + [history_url(scratch)]
