"""Issue 12, "History that never lies": stale snapshots never win, the seed's naive timestamps are read at
their real instant, and a crash-torn outbox line neither swallows the next record nor goes unreported."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pytest
import sqlalchemy as sa
from conftest import PG_ADMIN_URL, _postgres_database
from test_history import SEED_TABLE, unreachable

from autotrainer.config import Settings
from autotrainer.history import database as db
from autotrainer.history.database import HistoryDatabase
from autotrainer.history.journal import Journal
from autotrainer.history.records import RunRecord, to_row
from autotrainer.history.service import OUTBOX_FILE, History
from autotrainer.jobs.settle import settle_dead_runs
from autotrainer.timeutil import WIB

UTC = timezone.utc


def statuses(settings: Settings) -> dict[str, str]:
    history = History(settings)
    try:
        return {r.run_id: r.status for r in history.view(limit=100).runs}
    finally:
        history.close()


def finish(record: RunRecord, status: str = "success") -> RunRecord:
    record.status, record.success, record.completed_at = status, status in ("success", "warning"), record.started_at
    return record


# -- item 8: an older snapshot never replaces a newer one ------------------------------------------------------

def test_a_stale_outbox_snapshot_replayed_last_never_overwrites_a_finished_run(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    down = make_settings(database_url=unreachable(database_url, tmp_path))
    up = make_settings(database_url=database_url)
    record = RunRecord(run_id="r-stale", started_at="2026-11-23T22:00:00+00:00")
    History(down).start_run(record)  # the run starts while the database is down: 'running' waits in the outbox
    outbox = up.data_dir / OUTBOX_FILE
    stale = outbox.read_text(encoding="utf-8")
    runner = History(up)
    runner.finish_run(finish(record))  # the database is back: the outbox is replayed, then 'success' lands
    runner.close()
    outbox.write_text(stale, encoding="utf-8")  # what a replayer that read the outbox earlier upserts now, last
    other = History(up)
    other.drain_outbox()
    assert settle_dead_runs(other, other.settings.models_dir) == []
    other.close()
    assert statuses(up) == {"r-stale": "success"}


def test_marking_interrupted_never_clobbers_a_run_that_finished_meanwhile(
    make_settings: Callable[..., Settings], database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=database_url)
    runner, marker = History(settings), History(settings)
    record = RunRecord(run_id="r-slow", started_at="2026-11-23T22:00:00+00:00")
    runner.start_run(record)
    read = marker._stored_runs

    def read_then_the_run_finishes() -> list[dict[str, Any]]:
        rows = read()  # the marker sees the run still 'running' ...
        runner.finish_run(finish(record))  # ... and the run's own process records its outcome right then
        return rows

    monkeypatch.setattr(marker, "_stored_runs", read_then_the_run_finishes)
    settle_dead_runs(marker, marker.settings.models_dir)
    runner.close()
    marker.close()
    assert statuses(settings) == {"r-slow": "success"}


def test_a_run_marked_interrupted_by_mistake_still_records_its_real_outcome(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(database_url=database_url)
    runner = History(settings)
    record = RunRecord(run_id="r-alive", started_at="2026-11-23T22:00:00+00:00")
    runner.start_run(record)
    marker = History(settings)
    assert settle_dead_runs(marker, marker.settings.models_dir) == ["r-alive"]  # e.g. a hung process whose lock was taken over
    marker.close()
    assert statuses(settings) == {"r-alive": "interrupted"}
    runner.finish_run(finish(record))  # the truth, when it comes, replaces the guess
    runner.close()
    assert statuses(settings) == {"r-alive": "success"}


def test_two_replayers_never_interleave(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = make_settings(database_url=unreachable(database_url, tmp_path))
    up = make_settings(database_url=database_url)
    record = RunRecord(run_id="r-race", started_at="2026-11-23T22:00:00+00:00")
    History(down).start_run(record)  # 'running' waits in the outbox
    landed: list[str] = []
    upsert_many = HistoryDatabase.upsert_many

    def watched(self: HistoryDatabase, entries: list[tuple[str, dict[str, Any]]]) -> None:
        if not landed:  # the first replayer holds the outbox's rows; right now the run finishes in another process
            landed.append("first replay under way")
            runner = History(up)
            runner.finish_run(finish(record))
            runner.close()
        upsert_many(self, entries)
        landed.extend(row["status"] for table, row in entries if table == "training_runs")

    monkeypatch.setattr(HistoryDatabase, "upsert_many", watched)
    replayer = History(up)
    replayer.drain_outbox()
    replayer.close()
    assert landed == ["first replay under way", "running", "success"]  # the database saw the snapshots in order
    assert statuses(up) == {"r-race": "success"}
    assert not (up.data_dir / OUTBOX_FILE).exists()


def test_the_newest_snapshot_wins_in_the_outbox_and_in_one_replay_batch(
    make_settings: Callable[..., Settings], database_url: str, tmp_path: Path
) -> None:
    down = make_settings(database_url=unreachable(database_url, tmp_path))
    record = RunRecord(run_id="r-copy", started_at="2026-11-23T22:00:00+00:00")
    History(down).start_run(record)
    outbox = down.data_dir / OUTBOX_FILE
    running_line = outbox.read_text(encoding="utf-8")
    History(down).finish_run(finish(record))
    with outbox.open("a", encoding="utf-8") as fh:  # a stale copy of the 'running' line after the finished one
        fh.write(running_line)
    assert statuses(down) == {"r-copy": "success"}
    assert statuses(make_settings(database_url=database_url)) == {"r-copy": "success"}


def test_an_outbox_queued_before_snapshots_were_numbered_still_replays(
    make_settings: Callable[..., Settings], database_url: str
) -> None:
    settings = make_settings(database_url=database_url)
    journal = Journal(settings.data_dir / OUTBOX_FILE)
    record = RunRecord(run_id="r-old", started_at="2026-11-23T22:00:00+00:00")
    unnumbered = [to_row(record), to_row(finish(record))]  # as an older autotrainer queued them: no snapshot_seq
    for row in unnumbered:
        del row["snapshot_seq"]
        journal.append("training_runs", row)
    assert statuses(settings) == {"r-old": "success"}


# -- item 9: the seed's naive timestamps, on a server that is not in UTC ---------------------------------------

def postgres_in(zone: str) -> Iterator[str]:
    """A fresh PostgreSQL database whose sessions default to TimeZone `zone`, as a server configured so would."""
    for url in _postgres_database():
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f"ALTER DATABASE \"{sa.engine.make_url(url).database}\" SET timezone TO '{zone}'"))
        admin.dispose()
        yield url


@pytest.fixture
def jakarta_postgres() -> Iterator[str]:
    yield from postgres_in("Asia/Jakarta")


@pytest.fixture(params=["Etc/UTC", "Asia/Jakarta"])
def zoned_postgres(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from postgres_in(request.param)


def create_seed_table(url: str, rows: Iterable[dict[str, Any]] = ()) -> None:
    """The table the original bot created, with `rows` inserted the way it wrote them (psycopg2 parameters)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(SEED_TABLE.format(pk="SERIAL PRIMARY KEY")))
        for row in rows:
            conn.execute(sa.text("INSERT INTO training_runs (training_type, bars_used, num_boost_rounds, started_at, "
                                 "completed_at, success) VALUES ('daily', 8000, 50, :started_at, :completed_at, :ok)"),
                         row)
    engine.dispose()


def column_types(url: str) -> dict[str, str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT column_name, data_type FROM information_schema.columns "
                                    "WHERE table_name = 'training_runs' AND column_name LIKE '%\\_at'")).all()
    engine.dispose()
    return dict(rows)


@pytest.mark.parametrize("made_by", ["seed", "autotrainer"])
def test_a_22z_run_reads_back_as_22z_on_a_jakarta_server(
    make_settings: Callable[..., Settings], jakarta_postgres: str, made_by: str
) -> None:
    if made_by == "seed":
        create_seed_table(jakarta_postgres)
    history = History(make_settings(database_url=jakarta_postgres))
    record = RunRecord(run_id="r-22z", started_at="2026-11-23T22:00:00+00:00")
    history.start_run(record)
    record.status, record.success, record.completed_at = "success", True, "2026-11-23T22:05:30+00:00"
    history.finish_run(record)
    (stored,) = history.view().runs
    latest = history.latest("daily")
    history.close()
    assert datetime.fromisoformat(stored.started_at) == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    assert datetime.fromisoformat(stored.completed_at) == datetime(2026, 11, 23, 22, 5, 30, tzinfo=UTC)
    assert datetime.fromisoformat(latest.completed_at) == datetime(2026, 11, 23, 22, 5, 30, tzinfo=UTC)
    assert set(column_types(jakarta_postgres).values()) == {"timestamp with time zone"}


def test_upgrading_a_seed_database_keeps_every_row_at_its_instant(
    make_settings: Callable[..., Settings], zoned_postgres: str
) -> None:
    # The seed recorded datetime.now(WIB); PostgreSQL stored that in its TIMESTAMP columns as the server's local time.
    create_seed_table(zoned_postgres, [
        {"started_at": datetime(2025, 2, 6, 5, 0, 15, tzinfo=WIB), "completed_at": datetime(2025, 2, 6, 5, 2, 20, tzinfo=WIB),
         "ok": True},
        {"started_at": datetime(2025, 2, 7, 5, 0, 12, tzinfo=WIB), "completed_at": None, "ok": False},
    ])
    upgrade_to(zoned_postgres, "0002")  # then autotrainer ran on the half-upgraded table, before 0003 existed
    engine = sa.create_engine(zoned_postgres)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO training_runs (run_id, status, training_type, started_at, completed_at) "
                             "VALUES ('between', 'success', 'daily', :started, :completed)"),
                     {"started": datetime(2026, 11, 23, 22, 0, tzinfo=UTC),
                      "completed": datetime(2026, 11, 23, 22, 5, tzinfo=UTC)})
    engine.dispose()
    history = History(make_settings(database_url=zoned_postgres))
    runs = {r.run_id: r for r in history.view(limit=10).runs}
    history.close()
    instants = {run_id: (datetime.fromisoformat(r.started_at),
                         datetime.fromisoformat(r.completed_at) if r.completed_at else None) for run_id, r in runs.items()}
    assert instants == {
        "legacy-1": (datetime(2025, 2, 5, 22, 0, 15, tzinfo=UTC), datetime(2025, 2, 5, 22, 2, 20, tzinfo=UTC)),
        "legacy-2": (datetime(2025, 2, 6, 22, 0, 12, tzinfo=UTC), None),
        "between": (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 23, 22, 5, tzinfo=UTC)),
    }
    assert (runs["legacy-1"].status, runs["legacy-2"].status) == ("success", "failed")
    assert set(column_types(zoned_postgres).values()) == {"timestamp with time zone"}
    engine = sa.create_engine(zoned_postgres)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == db.HEAD_REVISION
    engine.dispose()


def upgrade_to(url: str, revision: str) -> None:
    """Run the migrations only up to `revision`, as an older autotrainer did (the seed's table is revision 0001)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.stamp(config, "0001")
        command.upgrade(config, revision)
    engine.dispose()


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
    history.drain_outbox()
    history.close()
    assert set(statuses(settings)) == {"r-a", "r-b"}
    reported = [m for m in autotrainer_warnings if "line 2" in m and OUTBOX_FILE.split(".")[0] in m]
    assert reported, autotrainer_warnings
    assert any("line 2" in w for w in history.warnings)  # so a run that replayed it carries it in its record too


def test_outbox_files_are_fsynced_into_their_directory(
    make_settings: Callable[..., Settings], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autotrainer.history.journal

    synced: list[Path] = []
    monkeypatch.setattr(autotrainer.history.journal, "fsync_dir", lambda path: synced.append(Path(path)))
    settings = make_settings(database_url=f"sqlite:///{(tmp_path / 'history.db').as_posix()}")
    journal = Journal(settings.data_dir / OUTBOX_FILE)
    journal.append("training_runs", to_row(RunRecord(run_id="r-1")))  # creates the file: its name must be durable
    assert synced == [settings.data_dir]
    journal.append("training_runs", to_row(RunRecord(run_id="r-2")))  # the file exists already
    assert synced == [settings.data_dir]
    History(settings).drain_outbox()
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
    history.drain_outbox()
    history.close()
    assert not busy and statuses(settings) == {"r-win": "running"}
