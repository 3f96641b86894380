"""The original bot's real database (zaikaman/XAU-Trading-Bot, docker/init-db/01-schema.sql) upgraded in place,
and database URLs that can never work refused as bad settings (exit 2) instead of queueing runs forever."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from conftest import PUBLISHABLE, _postgres_database
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.history import database as db
from autotrainer.history.service import OUTBOX_FILE, History
from autotrainer.jobs.retrain import retrain

# The bot's DDL for training_runs, exactly as docker/init-db/01-schema.sql writes it (with its extension and
# the two indexes it creates on the table).
BOT_DDL = [
    'CREATE EXTENSION IF NOT EXISTS "uuid-ossp"',
    """CREATE TABLE IF NOT EXISTS training_runs (
    id SERIAL PRIMARY KEY,
    run_id UUID DEFAULT uuid_generate_v4(),

    -- Timing
    started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMPTZ,
    duration_seconds INT,

    -- Configuration
    training_type VARCHAR(20) NOT NULL CHECK (training_type IN ('daily', 'weekend', 'manual', 'initial')),
    bars_used INT,
    num_boost_rounds INT,

    -- Results - HMM
    hmm_trained BOOLEAN DEFAULT FALSE,
    hmm_n_regimes INT,

    -- Results - XGBoost
    xgb_trained BOOLEAN DEFAULT FALSE,
    train_auc DECIMAL(6,5),
    test_auc DECIMAL(6,5),
    train_accuracy DECIMAL(6,5),
    test_accuracy DECIMAL(6,5),

    -- Model Paths
    model_path VARCHAR(255),
    backup_path VARCHAR(255),

    -- Status
    success BOOLEAN DEFAULT FALSE,
    error_message TEXT,

    -- Rollback
    rolled_back BOOLEAN DEFAULT FALSE,
    rollback_reason TEXT,
    rollback_at TIMESTAMPTZ,

    -- Meta
    created_at TIMESTAMPTZ DEFAULT NOW()
)""",
    "CREATE INDEX IF NOT EXISTS idx_training_started_at ON training_runs(started_at DESC)",
    "CREATE INDEX IF NOT EXISTS idx_training_type ON training_runs(training_type)",
]

# The bot's TrainingRepository (src/db/repository.py): insert_training_run, update_training_complete,
# mark_rollback, with the parameters it passes.
BOT_INSERT = """INSERT INTO training_runs (
    training_type, bars_used, num_boost_rounds, hmm_trained, hmm_n_regimes,
    xgb_trained, train_auc, test_auc, train_accuracy, test_accuracy, model_path, backup_path,
    success, error_message, started_at, completed_at, duration_seconds
) VALUES (
    :training_type, :bars_used, :num_boost_rounds, :hmm_trained, :hmm_n_regimes,
    :xgb_trained, :train_auc, :test_auc, :train_accuracy, :test_accuracy, :model_path, :backup_path,
    :success, :error_message, :started_at, :completed_at, :duration_seconds
) RETURNING *"""
BOT_COMPLETE = """UPDATE training_runs SET completed_at = :completed_at, duration_seconds = :duration_seconds,
    hmm_trained = :hmm_trained, xgb_trained = :xgb_trained, train_auc = :train_auc, test_auc = :test_auc,
    train_accuracy = :train_accuracy, test_accuracy = :test_accuracy, model_path = :model_path,
    backup_path = :backup_path, success = :success, error_message = :error_message WHERE id = :id RETURNING *"""
BOT_ROLLBACK = "UPDATE training_runs SET rolled_back = TRUE, rollback_reason = :reason, rollback_at = NOW() WHERE id = :id"


def bot_training_run(conn: sa.Connection, training_type: str, day: int, ok: bool, auc: float | None) -> dict[str, Any]:
    """One training run recorded as the bot records it: a row at the start, completed afterwards."""
    start = datetime(2026, 2, day, 5, 0)  # the bot passes datetime.now(): naive local time
    started = conn.execute(sa.text(BOT_INSERT), {
        "training_type": training_type, "bars_used": 8000, "num_boost_rounds": 50, "hmm_trained": False,
        "hmm_n_regimes": 3, "xgb_trained": False, "train_auc": None, "test_auc": None, "train_accuracy": None,
        "test_accuracy": None, "model_path": None, "backup_path": None, "success": False, "error_message": None,
        "started_at": start, "completed_at": None, "duration_seconds": None}).mappings().one()
    return dict(conn.execute(sa.text(BOT_COMPLETE), {
        "id": started["id"], "completed_at": start.replace(minute=3), "duration_seconds": 181,
        "hmm_trained": ok, "xgb_trained": ok, "train_auc": auc and auc + 0.1, "test_auc": auc,
        "train_accuracy": auc and 0.6, "test_accuracy": auc and 0.55, "model_path": "models/xgboost_model.pkl",
        "backup_path": "models/backups/20260201_050000", "success": ok,
        "error_message": None if ok else "Insufficient data for training"}).mappings().one())


@pytest.fixture
def bot_database() -> Iterator[str]:
    """A PostgreSQL database as the xaubot deployment leaves it: its training_runs with three of its runs."""
    for url in _postgres_database():
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            for statement in BOT_DDL:
                conn.execute(sa.text(statement))
            bot_training_run(conn, "daily", 2, True, 0.61234)
            rolled = bot_training_run(conn, "weekend", 7, True, 0.66)
            conn.execute(sa.text(BOT_ROLLBACK), {"id": rolled["id"], "reason": "AUC dropped"})
            bot_training_run(conn, "initial", 9, False, None)
        engine.dispose()
        yield url


def table_rows(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.text("SELECT * FROM training_runs ORDER BY id"))]
    engine.dispose()
    return rows


def test_the_bots_real_table_is_upgraded_and_both_keep_writing(
    bot_database: str, make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = table_rows(bot_database)
    settings = make_settings(**PUBLISHABLE, database_url=bot_database)
    outcomes = [retrain(settings, "initial"), retrain(settings, "daily")]
    outcomes += [retrain(settings, kind, bars=900) for kind in ("weekend", "emergency")]  # skipped: too few bars
    assert [w for o in outcomes for w in o.record.warnings if "database" in w] == []
    assert not (settings.data_dir / OUTBOX_FILE).exists()

    after = table_rows(bot_database)
    for old, now in zip(before, after):  # the bot's rows and columns, every value kept
        assert {k: now[k] for k in old} == old
    ours = {row["autotrainer_run_id"]: row for row in after[len(before):]}
    assert list(ours) == [o.record.run_id for o in outcomes]
    assert [row["training_type"] for row in ours.values()] == ["initial", "daily", "weekend", "emergency"]
    assert all(row["run_id"] is not None for row in ours.values())  # the bot's UUID default still fills its column
    published = ours[outcomes[0].record.run_id]
    assert published["status"] == "success" and float(published["test_auc"]) == pytest.approx(outcomes[0].record.test_auc, abs=1e-5)

    engine = sa.create_engine(bot_database)
    with engine.begin() as conn:  # the bot, after the upgrade: its own inserts (and the new type) still work
        late = bot_training_run(conn, "manual", 20, True, 0.7)
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == db.HEAD_REVISION
    engine.dispose()

    monkeypatch.setenv("AUTOTRAINER_DATABASE_URL", bot_database)
    monkeypatch.setenv("AUTOTRAINER_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["history", "--json", "--limit", "20"])
    assert result.exit_code == 0, result.output
    runs = {i["run_id"]: i for i in json.loads(result.stdout)["items"] if i["entry"] == "run"}
    legacy = {f"legacy-{row['id']}": row for row in [*before, late]}
    assert set(runs) == set(legacy) | set(ours)
    assert [(runs[k]["training_type"], runs[k]["status"], runs[k]["test_auc"]) for k in legacy] == [
        ("daily", "success", 0.61234), ("weekend", "success", 0.66), ("initial", "failed", None),
        ("manual", "success", 0.7)]
    assert "unreachable" not in result.output


def test_the_guessed_seed_table_still_takes_the_seeds_own_inserts(make_settings: Callable[..., Settings]) -> None:
    from test_history import SEED_TABLE, run

    for url in _postgres_database():
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(SEED_TABLE.format(pk="SERIAL PRIMARY KEY")))
        history = History(make_settings(database_url=url))
        history.start_run(run("ours", 1))
        with engine.begin() as conn:  # the seed's AutoTrainer names only its own columns
            conn.execute(sa.text("INSERT INTO training_runs (training_type, started_at, success) "
                                 "VALUES ('daily', NOW(), TRUE)"))
        statuses = {r.run_id: r.status for r in history.view().runs}
        history.close()
        engine.dispose()
        assert statuses == {"ours-1": "running", "legacy-2": "success"}


def test_a_schema_that_cannot_be_upgraded_is_an_error_not_an_outage(bot_database: str, tmp_path: Path) -> None:
    engine = sa.create_engine(bot_database)
    with engine.begin() as conn:  # a column of ours already there, as nobody foresaw: revision 0004 cannot add it
        conn.execute(sa.text("ALTER TABLE training_runs ADD COLUMN snapshot_seq TEXT"))
    engine.dispose()
    env = {"AUTOTRAINER_DATABASE_URL": bot_database, "AUTOTRAINER_DATA_DIR": str(tmp_path / "data"),
           "AUTOTRAINER_MODELS_DIR": str(tmp_path / "models")}
    result = CliRunner().invoke(app, ["retrain", "--type", "daily", "--bars", "900"], env=env)
    assert result.exit_code == 4, result.output  # the run's own outcome (skipped), recorded in the outbox
    line = next(line for line in result.output.splitlines() if "schema could not be upgraded" in line)
    assert "ERROR" in line and "DuplicateColumn" in line and "unavailable" not in line
    assert (tmp_path / "data" / OUTBOX_FILE).exists()
    shown = CliRunner().invoke(app, ["history"], env=env)
    assert shown.exit_code == 0 and "schema could not be upgraded" in shown.output
    assert "unreachable" not in shown.output


PASSWORD = "N0t-f0r-y0ur-eyes"


@pytest.mark.parametrize("url", [
    "nonsense", f"mysql://bot:{PASSWORD}@127.0.0.1/xaubot", f"foo://bot:{PASSWORD}@127.0.0.1/xaubot",
    f"postgresql+psycopg://bot:{PASSWORD}@127.0.0.1:5432/xaubot", f"postgresql+asyncpg://bot:{PASSWORD}@127.0.0.1/x",
    f"postgresql://bot:{PASSWORD}@127.0.0.1:port/xaubot", f"bot:{PASSWORD}@127.0.0.1/xaubot",
])
@pytest.mark.parametrize("command", [["retrain"], ["history"], ["check", "--run"]])
def test_a_database_url_that_can_never_work_is_a_bad_setting(url: str, command: list[str], tmp_path: Path) -> None:
    env = {"AUTOTRAINER_DATABASE_URL": url, "AUTOTRAINER_SOURCE": "sample", **{
        f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()}}
    result = CliRunner().invoke(app, command, env=env)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "setting 'database_url'" in lines[0] and "Traceback" not in result.output
    assert PASSWORD not in result.output
    assert not (tmp_path / "data").exists() and not (tmp_path / "models").exists()  # nothing ran, nothing queued


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgresql_url_uses_the_driver_we_ship(scheme: str, tmp_path: Path) -> None:
    for url in _postgres_database():
        plain = url.replace("postgresql+psycopg2", scheme, 1)
        env = {"AUTOTRAINER_DATABASE_URL": plain, "AUTOTRAINER_SOURCE": "sample",
               **{f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()}}
        result = CliRunner().invoke(app, ["retrain", "--type", "daily", "--bars", "900"], env=env)
        assert result.exit_code == 4, result.output  # skipped (too few bars), and recorded in the database
        assert not (tmp_path / "data" / OUTBOX_FILE).exists()
        shown = CliRunner().invoke(app, ["history", "--json"], env=env)
        runs = [i for i in json.loads(shown.stdout)["items"] if i["entry"] == "run"]
        assert [r["status"] for r in runs] == ["skipped"]
