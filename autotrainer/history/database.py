"""The database: one schema for PostgreSQL and the embedded SQLite default, versioned with Alembic.

`training_runs` keeps the seed's columns first, so a database created by the original bot is upgraded in
place: migration 0001 is the seed's table, 0002 adds what autotrainer records on top, 0003 gives the seed's
naive run times their time zone, 0004 numbers each run's snapshots so an older one never replaces a newer
one, 0005 adds the champion test's evidence and the bot's signal numbers, 0006 the thresholds a run was
judged by, 0007 the edge of its signals after costs and the threshold the bot acts at, 0008 the digest
of the settings and code that made its model, 0009 the three columns the bot's dashboard selects, 0010 the drift of the inputs in `auc_checks`. The xaubot deployment's own table keeps its UUID `run_id`; ours live in `autotrainer_run_id` there
(`runs_table`), and rows the bot keeps inserting after the upgrade read as legacy runs. Connections are short-timeout: a dead server costs seconds,
not minutes. A password in the URL never leaves this module unmasked.
"""

from __future__ import annotations

from datetime import datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from autotrainer.errors import ConfigError
from autotrainer.history import queries
from autotrainer.history.engines import is_scratch, shared_engine
from autotrainer.masking import mask_password, redact, url_secrets

CONNECT_TIMEOUT_SECONDS = 3
SQLITE_BUSY_SECONDS = 15
HEAD_REVISION = "0010"
MIGRATIONS = Path(__file__).with_name("migrations")
OWN_RUN_ID = "autotrainer_run_id"  # our run ids, on a table whose `run_id` is the bot's UUID (migration 0002)

metadata = sa.MetaData()
UtcDateTime = sa.DateTime(timezone=True)

training_runs = sa.Table(
    "training_runs", metadata,
    # The seed's columns, in the seed's order.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("training_type", sa.String(20)),
    sa.Column("bars_used", sa.Integer),
    sa.Column("num_boost_rounds", sa.Integer),
    sa.Column("started_at", UtcDateTime),
    sa.Column("completed_at", UtcDateTime),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("hmm_trained", sa.Boolean),
    sa.Column("xgb_trained", sa.Boolean),
    sa.Column("train_auc", sa.Float),
    sa.Column("test_auc", sa.Float),
    sa.Column("train_accuracy", sa.Float),
    sa.Column("test_accuracy", sa.Float),
    sa.Column("model_path", sa.Text),
    sa.Column("backup_path", sa.Text),
    sa.Column("success", sa.Boolean),
    sa.Column("error_message", sa.Text),
    # autotrainer's additions (migration 0002).
    sa.Column("run_id", sa.String(64), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("trigger", sa.String(20)),
    sa.Column("reason", sa.Text),
    sa.Column("symbol", sa.String(32)),
    sa.Column("timeframe", sa.String(8)),
    sa.Column("source", sa.Text),
    sa.Column("data_start", UtcDateTime),
    sa.Column("data_end", UtcDateTime),
    sa.Column("data_fingerprint", sa.String(64)),
    sa.Column("feature_count", sa.Integer),
    sa.Column("validation_auc", sa.Float),
    sa.Column("test_auc_low", sa.Float),
    sa.Column("test_auc_high", sa.Float),
    sa.Column("best_iteration", sa.Integer),
    sa.Column("champion_auc", sa.Float),
    sa.Column("manifest_sha256", sa.String(64)),
    sa.Column("warnings", sa.Text),
    sa.Column("host", sa.String(255)),
    sa.Column("tool_version", sa.String(32)),
    sa.Column("snapshot_seq", sa.Integer, nullable=False, server_default="0"),  # migration 0004
    # migration 0005: the champion test's evidence and the test slice's signals
    sa.Column("champion_auc_difference", sa.Float),
    sa.Column("champion_difference_low", sa.Float),
    sa.Column("champion_difference_high", sa.Float),
    sa.Column("champion_p_value", sa.Float),
    sa.Column("signal_coverage", sa.Float),
    sa.Column("signal_buys", sa.Integer),
    sa.Column("signal_sells", sa.Integer),
    sa.Column("signal_hit_rate", sa.Float),
    sa.Column("signal_hit_rate_low", sa.Float),
    sa.Column("signal_hit_rate_high", sa.Float),
    sa.Column("brier", sa.Float),
    # migration 0006: the thresholds the run was judged by
    sa.Column("auc_floor", sa.Float),
    sa.Column("auc_target", sa.Float),
    # migration 0007: the test slice's edge after costs, at the threshold the bot acts at
    sa.Column("confidence_threshold", sa.Float),
    sa.Column("edge_verdict", sa.String(32)),
    sa.Column("edge_signals", sa.Integer),
    sa.Column("edge_mean", sa.Float),
    sa.Column("edge_low", sa.Float),
    sa.Column("edge_high", sa.Float),
    sa.Column("edge_total", sa.Float),
    sa.Column("edge_profit_factor", sa.Float),
    sa.Column("edge_mean_spreads", sa.Float),
    sa.Column("edge_always_long_mean", sa.Float),
    sa.Column("edge_point", sa.Float),
    sa.Column("edge_cost_source", sa.Text),
    # migration 0008: the digest of the settings and code that made the model (jobs/recipe.py)
    sa.Column("recipe_digest", sa.String(64)),
    # migration 0009: what the bot's dashboard selects (records.dashboard_columns)
    sa.Column("sample_count", sa.Integer),
    sa.Column("features_used", sa.Integer),
    sa.Column("trigger_reason", sa.Text),
)

model_events = sa.Table(
    "model_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # publish, rollback, rejection, restore
    sa.Column("run_id", sa.String(64)),
    sa.Column("reason", sa.Text),
    sa.Column("backup_path", sa.Text),
    sa.Column("manifest_before", sa.Text),
    sa.Column("manifest_after", sa.Text),
    sa.Column("host", sa.String(255)),
)

auc_checks = sa.Table(
    "auc_checks", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("check_id", sa.String(64), nullable=False, unique=True),
    sa.Column("measured_at", UtcDateTime, nullable=False),
    sa.Column("model_run_id", sa.String(64)),
    sa.Column("auc", sa.Float),
    sa.Column("auc_low", sa.Float),
    sa.Column("auc_high", sa.Float),
    sa.Column("bars_scored", sa.Integer),
    sa.Column("data_start", UtcDateTime),
    sa.Column("data_end", UtcDateTime),
    sa.Column("status", sa.String(20)),
    # migration 0005: what the bot would have traded on these bars
    sa.Column("signal_coverage", sa.Float),
    sa.Column("signal_count", sa.Integer),
    sa.Column("signal_hit_rate", sa.Float),
    sa.Column("signal_hit_rate_low", sa.Float),
    sa.Column("signal_hit_rate_high", sa.Float),
    sa.Column("brier", sa.Float),
    # migration 0010: drift of the inputs without labels, and the guard's withheld share (models/guard.py)
    sa.Column("drift_bars", sa.Integer),
    sa.Column("drift_share", sa.Float),
    sa.Column("psi_max", sa.Float),
    sa.Column("guard_withheld_share", sa.Float),
)

TABLES = {"training_runs": training_runs, "model_events": model_events, "auc_checks": auc_checks}
KEYS = {"training_runs": "run_id", "model_events": "event_id", "auc_checks": "check_id"}


class SchemaError(Exception):
    """The database answered, but its schema could not be brought to HEAD_REVISION: no outage, a fault to fix."""


def runs_table(engine: Engine) -> sa.Table:
    """`training_runs` as this database holds it: run ids in `run_id`, or in `autotrainer_run_id` beside the
    bot's UUID `run_id` (which its default keeps filling for the bot's own inserts; we never write it)."""
    if OWN_RUN_ID not in {c["name"] for c in sa.inspect(engine).get_columns("training_runs")}:
        return training_runs
    columns = [c._copy() for c in training_runs.columns if c.name != "run_id"]
    own = sa.Column(OWN_RUN_ID, sa.String(64), key="run_id", unique=True)
    return sa.Table("training_runs", sa.MetaData(), *columns, own)


def scrub(text: str, url: str) -> str:
    """Remove the URL's credentials, raw or decoded, from any message (drivers echo connection strings)."""
    return redact(text, url_secrets(url))


def _file_identity(url: str) -> tuple[int, int] | None:
    """(device, inode) of an SQLite URL's file; None when there is none (yet)."""
    path = sqlite_file(url)
    if path is None:
        return None
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def sqlite_file(url: str) -> Path | None:
    """The file an SQLite URL names (None for other databases, in-memory SQLite or an unparseable URL)."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - connect() reports a bad URL properly
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def connect(url: str) -> Engine:
    """An engine with short timeouts, the process's one for `url` (history.engines) with an empty pool;
    ConfigError (masked) for a URL that cannot be used at all."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError/ValueError variants
        raise ConfigError(f"setting 'database_url' = {mask_password(url)} is not a database URL "
                          "(e.g. postgresql+psycopg2://user:pass@host:5432/db or sqlite:///data/autotrainer.db)") from None
    parsed = _installed_driver(parsed)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(f"setting 'database_url' = {mask_password(url)}: only postgresql and sqlite are supported")
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
    elif parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        kwargs["pool_size"], kwargs["max_overflow"] = 1, 1
    try:
        if parsed.get_backend_name() == "sqlite" and sqlite_file(url) is None:
            return sa.create_engine(parsed, **kwargs)  # in memory: a database per engine
        return shared_engine(url, lambda: _unsynced(sa.create_engine(parsed, **kwargs)) if is_scratch(url)
                             else sa.create_engine(parsed, **kwargs))
    except Exception as exc:  # noqa: BLE001 - e.g. a driver that is not installed
        raise ConfigError(f"database {mask_password(url)} cannot be used: {scrub(str(exc), url)}") from None


def _unsynced(engine: Engine) -> Engine:
    """`engine` with every new connection told not to wait for the disk (history.engines.mark_scratch)."""
    def no_sync(connection: Any, _: Any) -> None:
        connection.execute("PRAGMA synchronous=OFF")

    sa.event.listen(engine, "connect", no_sync)
    return engine


def _installed_driver(parsed: sa.URL) -> sa.URL:
    """A plain `postgresql://` (or `postgres://`) URL with the driver we ship: SQLAlchemy 2.1 would pick
    psycopg 3, which is not a dependency, and no longer knows `postgres` at all."""
    if parsed.drivername not in ("postgres", "postgresql"):
        return parsed
    return parsed.set(drivername="postgresql+psycopg" if find_spec("psycopg") else "postgresql+psycopg2")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, keeping every row (fast no-op when already there)."""
    with engine.connect() as conn:
        if _current_revision(conn) == HEAD_REVISION:
            return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        inspector = sa.inspect(conn)
        if "training_runs" in inspector.get_table_names() and "alembic_version" not in inspector.get_table_names():
            command.stamp(config, "0001")  # a database made by the original bot: the seed's schema
            config.attributes["adopted_table"] = True  # ... which the bot may go on inserting into
        command.upgrade(config, "head")


def _current_revision(conn: sa.Connection) -> str | None:
    if "alembic_version" not in sa.inspect(conn).get_table_names():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def describe_failure(exc: BaseException, url: str) -> str:
    """One line, password-free: the driver's first line of complaint."""
    original = getattr(exc, "orig", None) or exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    return scrub(f"{type(original).__name__}: {first}", url)


BATCH = 200
# Scratch histories (history.engines.mark_scratch) this process has migrated: the file's identity then and its
# `training_runs` table. A replay opens its history at every run; the schema check and the table's reflection
# cost ~20 ms each time. A file deleted or replaced since (a new replay into the same folder) is checked again.
_CHECKED: dict[str, tuple[tuple[int, int] | None, sa.Table]] = {}


class HistoryDatabase:
    """Reads and idempotent writes of history rows on one engine (schema migrated on open)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = connect(url)
        try:
            checked = _CHECKED.get(url)
            if checked is not None and checked[0] == _file_identity(url):
                runs = checked[1]
            else:
                self._migrate()
                runs = runs_table(self.engine)
                if is_scratch(url):  # a replay's own file: no other process migrates it meanwhile
                    _CHECKED[url] = (_file_identity(url), runs)
            self.tables = TABLES | {"training_runs": runs}
        except Exception:
            self.engine.dispose()
            raise

    def _migrate(self) -> None:
        """Migrate; a failure once the server has answered is a SchemaError (a fault to fix, not an outage to
        wait out), unless the connection itself was lost meanwhile."""
        with self.engine.connect():
            pass  # an error here is an outage
        try:
            migrate(self.engine)
        except Exception as exc:  # noqa: BLE001 - e.g. DuplicateColumn on a schema we did not foresee
            if getattr(exc, "connection_invalidated", False):
                raise
            raise SchemaError(f"its schema could not be upgraded to revision {HEAD_REVISION} "
                              f"({describe_failure(exc, self.url)})") from exc

    def close(self) -> None:
        self.engine.dispose()

    def upsert(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        self.upsert_many([(table, row) for row in rows])

    def upsert_many(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Write (table, row) snapshots; for each key the newest one wins (`history.supersedes`, here and in
        the database). Commits every BATCH rows, so an interrupted replay keeps what it committed and a repeat
        replaces rather than duplicates."""
        from autotrainer.history.records import supersedes

        latest: dict[tuple[str, Any], dict[str, Any]] = {}
        for table, row in entries:
            key = (table, row[KEYS[table]])
            if supersedes(row, latest.get(key)):
                latest.pop(key, None)
                latest[key] = row  # re-inserted: keeps the order of last writes
        pending = list(latest.items())
        for start in range(0, len(pending), BATCH):
            by_table: dict[str, list[dict[str, Any]]] = {}
            for (table, _), row in pending[start:start + BATCH]:
                by_table.setdefault(table, []).append(row)
            with self.engine.begin() as conn:
                for table, rows in by_table.items():
                    self._upsert(conn, self.tables[table], KEYS[table], rows)

    def _upsert(self, conn: sa.Connection, table: sa.Table, key: str, rows: list[dict[str, Any]]) -> None:
        """INSERT ... ON CONFLICT (key) DO UPDATE, for rows with distinct keys, in one statement (queries.upsert)."""
        columns = [c for c in table.columns if c.key != "id"]
        values = [{c.key: _db_value(c, row.get(c.key)) for c in columns} for row in rows]
        conn.execute(queries.upsert(table, key, self.engine.dialect.name), values)

    def runs(self, limit: int | None, training_type: str | None, status: tuple[str, ...] | None,
             since: datetime | None) -> list[Any]:
        from autotrainer.history.records import from_row

        table = self.tables["training_runs"]
        newest = queries.runs(table, limit or None, training_type or None, tuple(status) if status else None)
        query = queries.since(newest, table.c.started_at, since)
        with self.engine.connect() as conn:
            return [from_row("training_runs", dict(r._mapping)) for r in conn.execute(query)]

    def latest_run(self, training_type: str | None, statuses: tuple[str, ...] | None) -> Any:
        from autotrainer.history.records import from_row

        query = queries.runs(self.tables["training_runs"], 1, training_type or None,
                             tuple(statuses) if statuses else None)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return from_row("training_runs", dict(row._mapping)) if row else None

    def events(self, limit: int | None, since: datetime | None) -> list[Any]:
        from autotrainer.history.records import from_row

        query = queries.since(queries.events(model_events, limit or None), model_events.c.occurred_at, since)
        with self.engine.connect() as conn:
            return [from_row("model_events", dict(r._mapping)) for r in conn.execute(query)]

    def latest_auc_check(self, model_run_id: str) -> Any:
        from autotrainer.history.records import from_row

        query = queries.latest_auc_check(auc_checks, model_run_id is None)
        with self.engine.connect() as conn:
            row = conn.execute(query, {} if model_run_id is None else {"model_run_id": model_run_id}).first()
        return from_row("auc_checks", dict(row._mapping)) if row else None


def _db_value(column: sa.Column, value: Any) -> Any:
    if value is None and column.name == "snapshot_seq":
        return 0  # a row queued by a version that did not number snapshots
    if value is not None and isinstance(column.type, sa.DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
