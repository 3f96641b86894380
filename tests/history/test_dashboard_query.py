"""The bot dashboard's training-history query, verbatim, against an upgraded database: the bot's own table with
its old rows on PostgreSQL, and our own tables on SQLite and PostgreSQL. Our runs fill its three columns."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
import sqlalchemy as sa
import test_bot_schema
from bot_api import broken_bars
from conftest import PUBLISHABLE

from autotrainer.config import Settings
from autotrainer.jobs.retrain import retrain

# web-dashboard/api/main.py, get_training_history()
DASHBOARD_QUERY = """SELECT id, started_at, completed_at, train_auc, test_auc,
                  sample_count, features_used, trigger_reason
           FROM training_runs
           ORDER BY started_at DESC
           LIMIT 20"""
bot_database = test_bot_schema.bot_database  # the fixture: the bot's table holding three of its runs
DUE = "no model has ever been published"  # the scheduler's reason for the first retrain


def dashboard(url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(sa.text(DASHBOARD_QUERY))]
    engine.dispose()
    return rows


def two_runs(settings: Settings, sample_frame: pd.DataFrame, tmp_path: Path) -> tuple[Any, Any]:
    """A published run started as `check --run` starts one, and a manual run that fails on its bars."""
    published = retrain(settings, "initial", trigger="initial", reason=DUE)
    failed = retrain(replace(settings, source=str(broken_bars(sample_frame, tmp_path / "b.csv"))), "daily", bars=2000)
    assert (published.exit_code, failed.exit_code) == (0, 2)
    return published, failed


def assert_filled(rows: list[dict[str, Any]], published: Any, failed: Any) -> None:
    """The newest two rows are ours, newest first, with the three columns as the runs recorded them."""
    newest, older = rows[0], rows[1]
    assert (newest["sample_count"], newest["features_used"]) == (None, None)  # failed before any split
    assert newest["trigger_reason"] == "manual retrain (autotrainer retrain)"
    assert older["sample_count"] == published.record.sample_count > 2000
    assert older["features_used"] == published.record.feature_count == len(published.candidate.manifest["features"])
    assert older["trigger_reason"] == DUE
    assert float(older["test_auc"]) == pytest.approx(published.record.test_auc, abs=1e-5)  # the bot's NUMERIC(6,5)
    assert older["completed_at"] is not None and newest["started_at"] > older["started_at"]
    assert failed.record.status == "failed"


def test_the_dashboards_query_on_the_bots_upgraded_table(
    bot_database: str, make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    old = test_bot_schema.table_rows(bot_database)
    published, failed = two_runs(make_settings(**PUBLISHABLE, database_url=bot_database), sample_frame, tmp_path)
    rows = dashboard(bot_database)
    assert len(rows) == len(old) + 2
    assert_filled(rows, published, failed)
    by_id = {row["id"]: row for row in rows}
    for row in old:  # the bot's own runs: shown as they were, the new columns empty
        shown = by_id[row["id"]]
        assert (shown["train_auc"], shown["test_auc"], shown["started_at"]) == (row["train_auc"], row["test_auc"],
                                                                                row["started_at"])
        assert (shown["sample_count"], shown["features_used"], shown["trigger_reason"]) == (None, None, None)


def test_the_dashboards_query_on_our_own_tables(database_url: str, make_settings: Callable[..., Settings],
                                                sample_frame: pd.DataFrame, tmp_path: Path) -> None:
    published, failed = two_runs(make_settings(**PUBLISHABLE, database_url=database_url), sample_frame, tmp_path)
    rows = dashboard(database_url)
    assert len(rows) == 2
    assert_filled(rows, published, failed)


def test_the_upgrade_fills_our_earlier_rows_and_keeps_a_column_a_deployment_already_has(tmp_path: Path) -> None:
    from alembic import command
    from alembic.config import Config

    from autotrainer.history.database import MIGRATIONS, HistoryDatabase

    url = f"sqlite:///{(tmp_path / 'history.db').as_posix()}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # a history an autotrainer before revision 0009 kept ...
        config.attributes["connection"] = conn
        command.upgrade(config, "0008")
        conn.execute(sa.text("INSERT INTO training_runs (run_id, status, trigger, reason, feature_count, started_at) "
                             "VALUES ('20261130T220001Z-abc123', 'success', 'schedule', 'daily window 05:00 WIB "
                             "+/- 30 min', 77, '2026-11-30 22:00:01')"))
        conn.execute(sa.text("ALTER TABLE training_runs ADD COLUMN sample_count INTEGER"))  # ... with one already
    engine.dispose()
    HistoryDatabase(url).close()  # opening it upgrades it
    [row] = dashboard(url)
    assert (row["sample_count"], row["features_used"], row["trigger_reason"]) == (
        None, 77, "daily window 05:00 WIB +/- 30 min")
