"""The history database's statements, each built once a process for its table and arguments.

Building a statement over the 80-odd columns of `training_runs` (each labelled, three of them coalesced with
their legacy reading) and deriving its cache key cost more than running it on SQLite, and the scheduler state
asks for the newest runs nine times a run. A statement is immutable and remembers its cache key, so each one
is made once here and executed again; only values that change at every call (a time, a run id) are bound
parameters. The SQL and its results are those of a statement built afresh.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

KEPT = 64  # statements kept per kind: a few table shapes times a few arguments


def readable(table: sa.Table) -> list[Any]:
    """The table's columns under their record names; a row the bot inserted after the upgrade (no run id,
    status or trigger of ours) reads as the legacy rows 0002 filled do."""
    legacy = {
        "run_id": sa.literal("legacy-") + sa.cast(table.c.id, sa.String),
        "status": _legacy_status(table),
        "trigger": sa.literal("legacy"),
    }
    return [sa.func.coalesce(c, legacy[c.key]).label(c.key) if c.key in legacy else c.label(c.key)
            for c in table.columns]


def _legacy_status(table: sa.Table) -> Any:
    return sa.case((table.c.success.is_(True), "success"), else_="failed")


def status(table: sa.Table) -> Any:
    """A run's status, a legacy row's read from its `success`."""
    return sa.func.coalesce(table.c.status, _legacy_status(table))


@functools.lru_cache(maxsize=KEPT)
def runs(table: sa.Table, limit: int | None, training_type: str | None, statuses: tuple[str, ...] | None) -> sa.Select:
    """Runs newest first, of one type and any of `statuses` when given (a `since` is added by the caller)."""
    query = sa.select(*readable(table)).order_by(table.c.started_at.desc(), table.c.id.desc())
    if training_type:
        query = query.where(table.c.training_type == training_type)
    if statuses:
        query = query.where(status(table).in_(statuses))
    if limit:
        query = query.limit(limit)
    return query


def since(query: sa.Select, column: sa.Column, moment: Any) -> sa.Select:
    """`query` limited to rows from `moment` on (None: all); built per call, the moment changes each time."""
    return query if moment is None else query.where(column >= moment)


@functools.lru_cache(maxsize=KEPT)
def events(table: sa.Table, limit: int | None) -> sa.Select:
    """Model events newest first."""
    query = sa.select(table).order_by(table.c.occurred_at.desc(), table.c.id.desc())
    return query.limit(limit) if limit else query


@functools.lru_cache(maxsize=KEPT)
def latest_auc_check(table: sa.Table, of_none: bool) -> sa.Select:
    """The newest check that produced an AUC of the model bound as `model_run_id` (`of_none`: of no model,
    which `== None` makes IS NULL)."""
    model = table.c.model_run_id.is_(None) if of_none else table.c.model_run_id == sa.bindparam("model_run_id")
    return sa.select(table).where(model, table.c.auc.is_not(None)).order_by(table.c.measured_at.desc()).limit(1)


@functools.lru_cache(maxsize=KEPT)
def upsert(table: sa.Table, key: str, dialect: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO UPDATE of every column but `id`; a run's row is updated only by a
    snapshot at least as new (`history.supersedes`)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    columns = [c for c in table.columns if c.key != "id"]
    statement = insert(table)
    newer = table.c.snapshot_seq <= statement.excluded.snapshot_seq if "snapshot_seq" in table.c else None
    return statement.on_conflict_do_update(
        index_elements=[table.c[key]], set_={c.key: statement.excluded[c.key] for c in columns if c.key != key},
        where=newer)
