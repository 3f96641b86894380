"""Issue 12, "History that never lies": stale snapshots never win, the seed's naive timestamps are read at
their real instant, and a crash-torn outbox line neither swallows the next record nor goes unreported."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from autotrainer.config import Settings
from autotrainer.history import OUTBOX_FILE, History, RunRecord, to_row
from autotrainer.journal import Journal

from test_history import unreachable

def statuses(settings: Settings) -> dict[str, str]:
    history = History(settings)
    try:
        return {r.run_id: r.status for r in history.view(limit=100).runs}
    finally:
        history.close()


# -- item 10: a torn last line in the outbox -------------------------------------------------------------------

TORN = '{"table": "training_runs", "row": {"run_id": "torn", "sta'


def test_a_record_appended_after_a_torn_line_is_kept(tmp_path: Path) -> None:
    journal = Journal(tmp_path / OUTBOX_FILE)
    journal.append("training_runs", {"run_id": "before"})
    with journal.path.open("a", encoding="utf-8") as fh:  # the process died in the middle of its write
        fh.write(TORN)
    journal.append("training_runs", {"run_id": "after"})
    assert [row["run_id"] for _, row in journal.entries()] == ["before", "after"]


@pytest.fixture
def autotrainer_warnings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Warnings the 'autotrainer' logger emits (the console setup turns its propagation off)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                messages.append(record.getMessage())

    logger = logging.getLogger("autotrainer")
    handler = Collect()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def test_an_unreadable_outbox_line_is_reported_with_its_file_and_line(
    make_settings: Callable[..., Settings], database_url: str, autotrainer_warnings: list[str]
) -> None:
    settings = make_settings(database_url=database_url)
    outbox = settings.data_dir / OUTBOX_FILE
    journal = Journal(outbox)
    journal.append("training_runs", to_row(RunRecord(run_id="r-a")))
    with outbox.open("a", encoding="utf-8") as fh:
        fh.write(TORN + "\n")
    journal.append("training_runs", to_row(RunRecord(run_id="r-b")))
    history = History(settings)
    history.replay()
    history.close()
    assert set(statuses(settings)) == {"r-a", "r-b"}
    reported = [m for m in autotrainer_warnings if "line 2" in m and OUTBOX_FILE.split(".")[0] in m]
    assert reported, autotrainer_warnings
    assert any("line 2" in w for w in history.warnings)  # so a run that replayed it carries it in its record too


def test_outbox_files_are_fsynced_into_their_directory(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autotrainer.journal

    synced: list[Path] = []
    monkeypatch.setattr(autotrainer.journal, "fsync_dir", lambda path: synced.append(Path(path)))
    settings = make_settings(database_url=f"sqlite:///{(tmp_path / 'history.db').as_posix()}")
    journal = Journal(settings.data_dir / OUTBOX_FILE)
    journal.append("training_runs", to_row(RunRecord(run_id="r-1")))  # creates the file: its name must be durable
    assert synced == [settings.data_dir]
    journal.append("training_runs", to_row(RunRecord(run_id="r-2")))  # the file exists already
    assert synced == [settings.data_dir]
    History(settings).replay()
    assert synced == [settings.data_dir] * 3  # after the claim's rename and after the claimed file's removal
    assert set(statuses(settings)) == {"r-1", "r-2"}


def test_the_outbox_is_claimed_while_a_windows_reader_holds_it_open(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    History(make_settings(database_url=unreachable(database_url, tmp_path))).start_run(RunRecord(run_id="r-win"))
    real_replace = os.replace
    busy = [PermissionError(13, "The process cannot access the file because it is being used by another process")]

    def replace(src: Any, dst: Any) -> None:
        if busy and OUTBOX_FILE in str(src):
            raise busy.pop()
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    settings = make_settings(database_url=database_url)
    history = History(settings)
    history.replay()
    history.close()
    assert not busy and statuses(settings) == {"r-win": "running"}
