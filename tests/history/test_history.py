"""Run history on SQLite and PostgreSQL: nothing lost when the database is down, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from conftest import PUBLISHABLE
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.history import database as db
from autotrainer.history.database import HistoryDatabase
from autotrainer.history.records import AucCheck, ModelEvent, RunRecord, to_row
from autotrainer.history.service import OUTBOX_FILE, SEED_HISTORY_FILE, History
from autotrainer.jobs.retrain import retrain

WORKER = Path(__file__).resolve().parents[1] / "history_worker.py"
PASSWORD = "Sup3r-s3cret-pw"


def unreachable(url: str, tmp_path: Path) -> str:
    """The same kind of database, but one that cannot be reached (closed port / unopenable file)."""
    if url.startswith("sqlite"):
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        return f"sqlite:///{(blocker / 'history.db').as_posix()}"
    return sa.engine.make_url(url).set(port=1).render_as_string(hide_password=False)


def count_runs(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT COUNT(*) FROM training_runs")).scalar() or 0
    except sa.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def run(prefix: str, minute: int, **fields: object) -> RunRecord:
    start = datetime(2026, 11, 24, 5, minute, tzinfo=timezone.utc)
    return RunRecord(run_id=f"{prefix}-{minute}", started_at=start.isoformat(), **fields)


def test_records_round_trip(make_settings: Callable[..., Settings], database_url: str) -> None:
    history = History(make_settings(database_url=database_url))
    record = run("r", 1, training_type="weekend", bars_used=15000, warnings=["sorted rows"])
    history.start_run(record)
    record.status, record.success, record.test_auc, record.test_auc_low, record.test_auc_high = "warning", True, 0.53, 0.51, 0.55
    record.completed_at = (datetime.fromisoformat(record.started_at) + timedelta(seconds=2)).isoformat()
    history.finish_run(record)
    history.add_event(ModelEvent("publish", record.run_id, "weekend retrain", manifest_after={"run_id": record.run_id}))
    history.add_auc_check(AucCheck(record.run_id, 0.51, 0.49, 0.53, 300, "warning"))
    view = history.view()
    (stored,) = view.runs
    assert (stored.status, stored.test_auc, stored.warnings, stored.bars_used) == ("warning", 0.53, ["sorted rows"], 15000)
    assert datetime.fromisoformat(stored.started_at) == datetime.fromisoformat(record.started_at)
    assert datetime.fromisoformat(stored.started_at).utcoffset() == timedelta(0)
    assert [e.kind for e in view.events] == ["publish"] and view.events[0].manifest_after == {"run_id": record.run_id}
    assert history.latest_auc_check(record.run_id).bars_scored == 300
    assert view.origin.startswith("database")
    history.close()


def test_run_recorded_while_database_is_down_lands_exactly_once(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    down = make_settings(**PUBLISHABLE, database_url=unreachable(database_url, tmp_path))
    first = retrain(down, "initial")
    assert first.exit_code == 0 and first.published  # the database never decides the run's outcome
    assert any("unavailable" in w and "outbox" in w for w in first.record.warnings)
    assert (down.data_dir / OUTBOX_FILE).exists()
    assert len((down.data_dir / SEED_HISTORY_FILE).read_text().splitlines()) == 1
    assert History(down).view().note.startswith("database")  # history still works, from the outbox, and says so

    up = make_settings(**PUBLISHABLE, database_url=database_url)
    second = retrain(up, "daily")
    assert second.exit_code == 0 and not [w for w in second.record.warnings if "database" in w or "outbox" in w]
    view = History(up).view()
    assert [r.run_id for r in view.runs] == [second.record.run_id, first.record.run_id]
    assert [r.status for r in view.runs] == [second.record.status, first.record.status]
    assert sorted(e.kind for e in view.events) == ["publish", "publish"]
    assert count_runs(database_url) == 2
    assert not (up.data_dir / OUTBOX_FILE).exists()
    History(up).drain_outbox()  # replaying again changes nothing
    assert count_runs(database_url) == 2


def test_replay_killed_midway_resumes_without_duplicates(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    total = 10_000
    outbox = tmp_path / "data" / OUTBOX_FILE
    outbox.parent.mkdir(parents=True)
    with outbox.open("w", encoding="utf-8") as fh:  # the outbox a long outage leaves: start and finish of each run
        for i in range(total):
            record = RunRecord(run_id=f"queued-{i:05d}", started_at=datetime(2026, 1, 1, tzinfo=timezone.utc).isoformat())
            fh.write(json.dumps({"table": "training_runs", "row": to_row(record)}) + "\n")
            record.status = "success"
            fh.write(json.dumps({"table": "training_runs", "row": to_row(record)}) + "\n")
    HistoryDatabase(database_url).close()  # create the schema first, so progress can be watched
    worker = subprocess.Popen([sys.executable, str(WORKER), str(tmp_path / "data"), database_url, "replay"])
    deadline = time.monotonic() + 60
    while count_runs(database_url) == 0 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.005)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    landed = count_runs(database_url)
    assert 0 < landed < total, f"the kill should land midway, {landed} of {total} rows were in"
    up = History(make_settings(database_url=database_url))
    up.drain_outbox()
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT run_id, status FROM training_runs")).all()
    engine.dispose()
    assert len(rows) == total == len({r.run_id for r in rows})
    assert {r.status for r in rows} == {"success"}  # the later snapshot of each run won
    assert not any(p.name.startswith("history-outbox") and p.suffix == ".jsonl" for p in (tmp_path / "data").iterdir())


def test_two_processes_recording_at_once_both_land(database_url: str, tmp_path: Path) -> None:
    HistoryDatabase(database_url).close()
    workers = [subprocess.Popen([sys.executable, str(WORKER), str(tmp_path / "data"), database_url, "record", p, "40"],
                                stdout=subprocess.PIPE, text=True) for p in ("a", "b")]
    outputs = [w.communicate(timeout=120)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert all("warnings: []" in out for out in outputs)
    assert count_runs(database_url) == 80


SEED_TABLE = """CREATE TABLE training_runs (
    id {pk}, training_type VARCHAR(20), bars_used INTEGER, num_boost_rounds INTEGER,
    started_at TIMESTAMP, completed_at TIMESTAMP, duration_seconds FLOAT, hmm_trained BOOLEAN,
    xgb_trained BOOLEAN, train_auc FLOAT, test_auc FLOAT, train_accuracy FLOAT, test_accuracy FLOAT,
    model_path TEXT, backup_path TEXT, success BOOLEAN, error_message TEXT)"""


def test_upgrade_from_the_seed_schema_keeps_every_row(make_settings: Callable[..., Settings], database_url: str) -> None:
    engine = sa.create_engine(database_url)
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if database_url.startswith("sqlite") else "SERIAL PRIMARY KEY"
    with engine.begin() as conn:  # the database the original bot left behind
        conn.execute(sa.text(SEED_TABLE.format(pk=pk)))
        for i, (kind, ok, auc) in enumerate([("daily", True, 0.61), ("weekend", True, 0.66), ("daily", False, None)]):
            conn.execute(sa.text(
                "INSERT INTO training_runs (training_type, bars_used, num_boost_rounds, started_at, success, test_auc, "
                "error_message) VALUES (:t, 8000, 50, :s, :ok, :auc, :err)"),
                {"t": kind, "s": datetime(2025, 2, 4 + i, 5, 0), "ok": ok, "auc": auc,
                 "err": None if ok else "Insufficient data for training: 2 samples"})
    engine.dispose()
    history = History(make_settings(database_url=database_url))
    history.start_run(run("new", 7))
    runs = history.view(limit=10).runs
    history.close()
    legacy = sorted((r for r in runs if r.run_id.startswith("legacy-")), key=lambda r: r.run_id)
    assert [(r.training_type, r.status, r.test_auc, r.trigger) for r in legacy] == [
        ("daily", "success", 0.61, "legacy"), ("weekend", "success", 0.66, "legacy"), ("daily", "failed", None, "legacy")]
    assert legacy[2].error_message == "Insufficient data for training: 2 samples"
    assert len(runs) == 4
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == db.HEAD_REVISION
        assert {"model_events", "auc_checks"} <= set(sa.inspect(conn).get_table_names())
    engine.dispose()


def test_runs_left_running_by_a_dead_process_are_marked_interrupted(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(**PUBLISHABLE, database_url=database_url)
    History(settings).start_run(run("died", 3))  # a process that was killed mid-run
    outcome = retrain(settings, "initial")
    statuses = {r.run_id: r.status for r in History(settings).view().runs}
    assert statuses == {"died-3": "interrupted", outcome.record.run_id: outcome.record.status}


def test_password_never_appears_in_output_logs_or_files(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        url = f"postgresql+psycopg2://autotrainer:{PASSWORD}@127.0.0.1:1/history"  # closed port
    else:  # the real server (trust auth accepts any password), so the success path is covered too
        url = sa.engine.make_url(database_url).set(password=PASSWORD).render_as_string(hide_password=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({"AUTOTRAINER_DATABASE_URL": url, **{f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()}})
    exe = Path(sys.executable).with_name("autotrainer")
    outputs = [subprocess.run([str(exe), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
               for args in (["retrain"], ["retrain", "--json"], ["history"], ["history", "--json"], ["history", "--csv"])]
    assert outputs[0].returncode == 0, outputs[0].stdout + outputs[0].stderr
    for result in outputs:
        assert PASSWORD not in result.stdout + result.stderr
    assert "***" in outputs[2].stdout  # the masked URL is shown where the history came from
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


runner = CliRunner()


def test_history_command_filters_and_summarises_a_real_sequence(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(**PUBLISHABLE, database_url=database_url)
    published = retrain(settings, "initial").record
    skipped = retrain(settings, "daily", bars=900).record
    rejected = retrain(make_settings(**{**PUBLISHABLE, "publish_floor_auc": 0.64, "min_auc_threshold": 0.65},
                                     database_url=database_url), "daily").record
    (tmp_path / "autotrainer.toml").write_text(f'database_url = "{database_url}"\n'
                                               f'data_dir = "{(tmp_path / "data").as_posix()}"\n')
    result = runner.invoke(app, ["history"])
    assert result.exit_code == 0, result.output
    assert "3 runs, 33% published, last published" in result.output and "mean test AUC" in result.output
    for text in ("rejected", "skipped", "event: publish", "event: rejection", "initial"):
        assert text in result.output
    data = json.loads(runner.invoke(app, ["history", "--json", "--limit", "2"]).stdout)
    runs = [i for i in data["items"] if i["entry"] == "run"]
    assert [r["run_id"] for r in runs] == [rejected.run_id, skipped.run_id]
    assert {i["kind"] for i in data["items"] if i["entry"] == "event"} == {"rejection"}
    only_skipped = json.loads(runner.invoke(app, ["history", "--json", "--status", "skipped"]).stdout)
    assert [i["run_id"] for i in only_skipped["items"] if i["entry"] == "run"] == [skipped.run_id]
    only_initial = json.loads(runner.invoke(app, ["history", "--json", "--type", "initial"]).stdout)
    assert [i["run_id"] for i in only_initial["items"] if i["entry"] == "run"] == [published.run_id]
    future = json.loads(runner.invoke(app, ["history", "--json", "--since", "2099-01-01"]).stdout)
    assert [i for i in future["items"] if i["entry"] == "run"] == []
    csv_lines = runner.invoke(app, ["history", "--csv"]).stdout.splitlines()
    assert csv_lines[0].startswith("when,entry,training_type") and len(csv_lines) == 1 + 3 + 2
    assert runner.invoke(app, ["history", "--since", "yesterday"]).exit_code == 2


def test_file_only_history_when_use_db_is_off(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE, use_db=False)
    outcome = retrain(settings, "initial")
    view = History(settings).view()
    assert [r.run_id for r in view.runs] == [outcome.record.run_id] and view.origin.startswith("file")
    assert not (settings.data_dir / "autotrainer.db").exists()
