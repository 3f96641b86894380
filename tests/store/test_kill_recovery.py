"""What a SIGKILL leaves behind (issue 15, items 5-7 and parts of 19): a run killed after its pair went live
is recorded as published with its numbers and event; a run killed right after its "started" banner has a
record; temp files of killed writes are cleared; and the small leftovers of failed deletes and log shifts
are retried rather than left behind."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from conftest import PUBLISHABLE

from autotrainer import fsutil
from autotrainer.config import Settings
from autotrainer.history.journal import Journal
from autotrainer.history.records import RunRecord
from autotrainer.history.service import History
from autotrainer.jobs.retrain import retrain
from autotrainer.jobs.rollback import rollback
from autotrainer.jobs.settle import settle_dead_runs
from autotrainer.logs import SharedRotatingFileHandler
from autotrainer.store import pairs as store

KILL_AT = Path(__file__).resolve().parents[1] / "kill_at.py"


def _env(**extra: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({f"AUTOTRAINER_{k.upper()}": str(v) for k, v in {**PUBLISHABLE, **extra}.items()})
    return env


def _killed_at(line: str, args: list[str], cwd: Path, **settings: Any) -> None:
    """Run the command in a real process that SIGKILLs itself when it logs `line`; it must have died so."""
    process = subprocess.run([sys.executable, str(KILL_AT), *args], cwd=cwd, env={**_env(**settings), "KILL_AT_LOG": line},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=300)
    assert process.returncode == -9, process.stderr[-2000:]


@pytest.fixture
def autotrainer_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog on the 'autotrainer' logger itself: the console setup of an earlier test may have stopped it
    propagating to the root logger, where caplog listens."""
    logger = logging.getLogger("autotrainer")
    level = logger.level
    logger.addHandler(caplog.handler)
    logger.setLevel(logging.INFO)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)
        logger.setLevel(level)


def _runs(settings: Settings) -> dict[str, RunRecord]:
    history = History(settings)
    try:
        return {run.run_id: run for run in history.view(limit=1000).runs}
    finally:
        history.close()


def _publish_events(settings: Settings, run_id: str) -> int:
    history = History(settings)
    try:
        return sum(e.kind == "publish" and e.run_id == run_id for e in history.view(limit=1000).events)
    finally:
        history.close()


# -- item 5: a run killed after its pair went live ---------------------------------------------------------------

@pytest.mark.parametrize("recovery", ["retrain", "rollback"])
def test_a_run_killed_after_its_publish_is_recorded_published_with_its_numbers_and_event(
    make_settings: Callable[..., Settings], tmp_path: Path, recovery: str
) -> None:
    settings = make_settings(**PUBLISHABLE, champion_tolerance=0.5)
    assert retrain(settings, "initial").published
    _killed_at("Models published to", ["retrain", "--type", "daily", "--bars", "2500"], tmp_path, champion_tolerance=0.5)
    live = store.active_state(settings.models_dir).manifest
    killed = live["run_id"]
    assert _runs(settings)[killed].status == "running"  # the pair is live, the run never finished

    if recovery == "retrain":
        retrain(settings, "daily", bars=3000)
    else:
        assert rollback(settings, "after the kill").exit_code == 0

    run = _runs(settings)[killed]
    metrics = live["metrics"]
    assert run.status in ("success", "warning") and run.success
    assert (run.test_auc, run.test_auc_low, run.test_auc_high) == (
        metrics["test_auc"], metrics["test_auc_low"], metrics["test_auc_high"])
    assert (run.train_auc, run.train_accuracy, run.test_accuracy, run.validation_auc) == (
        metrics["train_auc"], metrics["train_accuracy"], metrics["test_accuracy"], metrics["validation_auc"])
    assert run.bars_used == live["data"]["bars"] == 2500 and run.feature_count == len(live["features"])
    assert run.manifest_sha256 == store.sha256_bytes(store.manifest_bytes(live))
    assert _publish_events(settings, killed) == 1


def test_a_publish_event_the_run_recorded_before_it_was_killed_is_not_duplicated(
    make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(**PUBLISHABLE)
    run_id = retrain(settings, "initial").record.run_id
    record = _runs(settings)[run_id]
    record.status, record.test_auc = "running", None  # as if killed between its publish event and its finish
    history = History(settings)
    history.start_run(record)
    assert settle_dead_runs(history, history.settings.models_dir) == [run_id]
    history.close()
    assert _runs(settings)[run_id].status in ("success", "warning") and _runs(settings)[run_id].test_auc
    assert _publish_events(settings, run_id) == 1


def test_a_killed_run_whose_pair_is_not_live_stays_interrupted(make_settings: Callable[..., Settings],
                                                               tmp_path: Path) -> None:
    settings = make_settings(**PUBLISHABLE)
    _killed_at("Training XGBoost Model", ["retrain", "--type", "initial"], tmp_path)
    retrain(settings, "initial")
    statuses = sorted(run.status for run in _runs(settings).values())
    assert "interrupted" in statuses and "running" not in statuses


# -- item 6: killed right after the banner ------------------------------------------------------------------------

def test_a_run_killed_right_after_its_started_banner_has_a_record(make_settings: Callable[..., Settings],
                                                                 tmp_path: Path) -> None:
    settings = make_settings(**PUBLISHABLE)
    _killed_at("AUTO-RETRAINING STARTED", ["retrain", "--type", "initial"], tmp_path)
    assert [run.status for run in _runs(settings).values()] == ["running"]
    retrain(settings, "initial")
    assert sorted(run.status for run in _runs(settings).values())[0] == "interrupted"


# -- item 7: temp files of killed writes -------------------------------------------------------------------------

def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_temp_files_of_killed_writes_are_cleared_by_the_next_run_but_not_a_live_writers(
    make_settings: Callable[..., Settings], autotrainer_log: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(**PUBLISHABLE)
    settings.data_dir.mkdir(parents=True)
    settings.models_dir.mkdir(parents=True)
    dead = settings.data_dir / f".scheduler-state.json.tmp-{_dead_pid()}"
    dead_manifest = settings.models_dir / f".manifest.json.tmp-{_dead_pid()}"
    live_young = settings.data_dir / f".scheduler-state.json.tmp-{os.getppid()}"
    live_old = settings.data_dir / f".autotrainer.toml.tmp-{os.getppid()}"
    for path in (dead, dead_manifest, live_young, live_old):
        path.write_text("{half a write", encoding="utf-8")
    two_hours_ago = time.time() - 7200
    os.utime(live_old, (two_hours_ago, two_hours_ago))

    outcome = retrain(settings, "initial", bars=2500)
    assert outcome.record.status in ("success", "warning")  # rejected runs too would clean; this one publishes

    assert not dead.exists() and not dead_manifest.exists() and not live_old.exists()
    assert live_young.exists()  # a live process's write in progress is never touched
    assert "Removed 3 temp file(s) left by killed writes" in autotrainer_log.text


def test_rollback_clears_stale_temp_files_too(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE)
    settings.data_dir.mkdir(parents=True)
    dead = settings.data_dir / f".scheduler-state.json.tmp-{_dead_pid()}"
    dead.write_text("{", encoding="utf-8")
    with pytest.raises(Exception):
        rollback(settings, "nothing to roll back to")  # refused (no backup), but the lock was held
    assert not dead.exists()


# -- item 19: the guard refused the mark ------------------------------------------------------------------------

def test_a_mark_the_database_guard_refused_is_not_logged_as_marked(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch,
    autotrainer_log: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    runner, marker = History(settings), History(settings)
    record = RunRecord(run_id="r-slow", started_at="2026-11-23T22:00:00+00:00")
    runner.start_run(record)
    read = marker._stored_runs

    def read_then_the_run_finishes() -> list[dict[str, Any]]:
        rows = read()
        record.status, record.success = "success", True
        runner.finish_run(record)  # lands between the marker's read and its write: the guard refuses the mark
        return rows

    monkeypatch.setattr(marker, "_stored_runs", read_then_the_run_finishes)
    assert settle_dead_runs(marker, marker.settings.models_dir) == []
    runner.close()
    marker.close()
    assert "marked interrupted" not in autotrainer_log.text
    assert "run r-slow looked unfinished, but a newer record of it (success) arrived meanwhile" in autotrainer_log.text
    assert _runs(settings)["r-slow"].status == "success"


# -- item 19: a claimed outbox file held open on Windows ----------------------------------------------------------

def test_a_claimed_outbox_file_held_open_for_a_moment_is_deleted_on_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path / "history-outbox.jsonl")
    journal.append("training_runs", {"run_id": "r1"})
    refusals = {"left": 2}
    real_remove, real_unlink = os.remove, os.unlink

    def held_open(real: Callable[..., None]) -> Callable[..., None]:
        def delete(path: Any, *args: Any, **kwargs: Any) -> None:
            if ".replaying-" in str(path) and refusals["left"]:
                refusals["left"] -= 1
                raise PermissionError(32, "The process cannot access the file because it is being used", str(path))
            real(path, *args, **kwargs)
        return delete

    monkeypatch.setattr(os, "remove", held_open(real_remove))
    monkeypatch.setattr(os, "unlink", held_open(real_unlink))
    monkeypatch.setattr(fsutil, "REPLACE_PAUSE_SECONDS", 0.0)
    applied: list[list[Any]] = []
    assert journal.drain(lambda rows: applied.append(rows) or True)
    assert refusals["left"] == 0 and len(applied) == 1  # applied once, deleted on the third try
    assert not journal.pending()


# -- item 19: a failed log shift ---------------------------------------------------------------------------------

def test_a_failed_log_shift_is_taken_up_by_the_next_rollover(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log_file = tmp_path / "autotrainer.log"
    handler = SharedRotatingFileHandler(log_file, 200, 3)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("test-rotation")
    logger.propagate, logger.handlers = False, [handler]
    for number in range(12):
        logger.warning("line %02d %s", number, "x" * 60)
    real_replace = os.replace

    def backup_held_open(src: Any, dst: Any) -> None:
        if str(dst).endswith(".2"):
            raise PermissionError(32, "in use", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", backup_held_open)
    logger.warning("line 12 %s", "x" * 200)  # this rollover's shift fails: its lines stay aside
    aside = list(tmp_path.glob("*.rotating"))
    assert len(aside) == 1
    set_aside = aside[0].read_text(encoding="utf-8")
    monkeypatch.setattr(os, "replace", real_replace)
    logger.warning("line 13 %s", "x" * 200)  # the next rollover shifts them in first
    handler.close()
    assert not list(tmp_path.glob("*.rotating"))
    backups = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.glob("autotrainer.log.*")}
    assert backups["autotrainer.log.2"] == set_aside and "line 12" in backups["autotrainer.log.1"]
