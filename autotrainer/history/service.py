"""Run history that loses nothing: the database when it answers, an fsynced outbox file when it does not.

Three record kinds: training runs (the seed's `training_runs` columns plus ours), model events (publish,
rollback, rejection, restore) and live AUC checks. Every write is a full snapshot keyed by a unique id, so
writing or replaying it twice is harmless. While the outbox holds anything, new records queue behind it,
which keeps their order. Each snapshot of a run is also numbered (`snapshot_seq`), and neither the
database nor a fold of the outbox lets an older snapshot replace a newer one, whatever order a replay,
a copied outbox or another process delivers them in: a finished run never reverts to "running".
A database failure is a warning on the run, never the run's outcome; one that answers but cannot be
migrated is an ERROR (it will not heal by waiting), and a URL that can never work is a bad setting (exit 2).
The seed's retrain_history.txt line is written for every finished run either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

from autotrainer.config import Settings
from autotrainer.errors import ConfigError
from autotrainer.history.journal import LOCK_TIMEOUT_SECONDS, Journal, append_line
from autotrainer.history.records import (
    STATUS_WORDS,
    AucCheck,
    LivePair,
    ModelEvent,
    RunRecord,
    as_published,
    from_row,
    publish_event_id,
    supersedes,
    to_row,
)
from autotrainer.masking import database_kind, mask_password
from autotrainer.timeutil import as_utc, iso, utc_now, wib_iso

log = logging.getLogger("autotrainer")

OUTBOX_FILE = "history-outbox.jsonl"
FILE_STORE = "history.jsonl"
SEED_HISTORY_FILE = "retrain_history.txt"
@dataclass
class HistoryView:
    """What `autotrainer history` shows, and where it came from."""

    runs: list[RunRecord]
    events: list[ModelEvent]
    origin: str
    note: str | None = None
    kind: str = "history"  # where it came from without any address or path, for pictures that travel


class History:
    """The history store for one process: database first, outbox on failure, file-only if `use_db` is off."""

    def __init__(self, settings: Settings, read_only: bool = False) -> None:
        """`read_only`: for commands that only look (history, auc, check); an SQLite file that does not
        exist yet is not created, the history is simply empty."""
        self.settings = settings
        self.read_only = read_only
        self.data_dir = settings.data_dir
        self.warnings: list[str] = []
        self.outbox = Journal(settings.data_dir / OUTBOX_FILE, warn=self._note)
        self.file_store = Journal(settings.data_dir / FILE_STORE, warn=self._note)
        self.url = history_url(settings)
        self._db: Any = None
        self._db_failed = False
        self._schema_problem: str | None = None  # the database answers, but its schema cannot be upgraded

    # -- writing -------------------------------------------------------------------------------
    def start_run(self, record: RunRecord) -> None:
        record.snapshot_seq += 2
        self._write("training_runs", to_row(record))

    def finish_run(self, record: RunRecord) -> None:
        record.snapshot_seq += 2
        self._write("training_runs", to_row(record))
        if record.completed_at:
            append_line(self.data_dir / SEED_HISTORY_FILE, wib_iso(record.completed_at))

    def add_event(self, event: ModelEvent) -> None:
        self._write("model_events", to_row(event))

    def add_auc_check(self, check: AucCheck) -> None:
        self._write("auc_checks", to_row(check))

    def mark_interrupted(self, current_run_id: str, live: LivePair | None) -> list[str]:
        """Settle the runs still 'running': their processes died (the caller holds the run lock). Returns the
        ids of the runs this settled, each logged with what it was recorded as.

        A run whose pair is the active one died after its publish, so it is recorded as published, with the
        numbers from the manifest it made live and its publish event if that is missing: the history must
        match what the bot serves. Any other is recorded 'interrupted'. Either is a guess, so the snapshot is
        numbered one past the one it was made from: it replaces that snapshot but never a newer one (a finish
        that landed meanwhile stays, and is logged as such), and if the run's own process does write again,
        its next snapshot (two past) replaces the guess. `live` is the pair the bot serves now (None: none)."""
        self.drain_outbox()
        stale = [r for r in self._fold_runs(self._stored_runs()) if r.status == "running" and r.run_id != current_run_id]
        settled = []
        for record in stale:
            made_live = live is not None and live.manifest.get("run_id") == record.run_id
            if made_live:
                self._add_missing_publish(record, live.manifest)  # first: once settled, a run is not revisited
                as_published(record, live)
            else:
                record.status, record.success = "interrupted", False
                record.error_message = record.error_message or "the process stopped before the run finished"
            record.snapshot_seq += 1
            self._write("training_runs", to_row(record))
            if self._kept(record, made_live):
                settled.append(record.run_id)
        return settled

    def _kept(self, record: RunRecord, live: bool) -> bool:
        """Whether the snapshot just written is the run's record now (the snapshot guard refuses it when a
        newer one arrived meanwhile); logs what actually happened."""
        kept = self._current_run(record)
        if kept is not None and kept.snapshot_seq > record.snapshot_seq:
            log.warning("History: run %s looked unfinished, but a newer record of it (%s) arrived meanwhile; "
                        "that record stands", record.run_id, STATUS_WORDS.get(kept.status, kept.status))
            return False
        if live:
            log.warning("History: run %s never finished (its process died after publishing); its pair is live, so "
                        "it is recorded as published with the manifest's numbers (test AUC %.4f)",
                        record.run_id, record.test_auc or 0.0)
        else:
            log.warning("History: run %s never finished (its process died); marked interrupted", record.run_id)
        return True

    def _current_run(self, record: RunRecord) -> RunRecord | None:
        """The run's stored snapshot as a reader would see it now (None when it cannot be read back)."""
        if self.settings.use_db and not self.outbox.pending() and self._database() is not None:
            since = datetime.fromisoformat(record.started_at) if record.started_at else None
            try:
                return next((r for r in self._db.runs(None, None, None, since) if r.run_id == record.run_id), None)
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        rows = [row for row in self._journal_rows("training_runs") if row["run_id"] == record.run_id]
        return next(iter(self._fold_runs(rows)), None)

    def _add_missing_publish(self, record: RunRecord, manifest: dict[str, Any]) -> None:
        """The publish event of a run that died between its publish and recording it, unless it was recorded.
        Its id is the one the run itself uses, so recording it twice (e.g. while the database is away with
        the original) still leaves one event."""
        if any(e.kind == "publish" and e.run_id == record.run_id for e in self.events_since(record.started_at)):
            return
        self.add_event(ModelEvent("publish", record.run_id, f"{record.training_type} retrain, test AUC "
                                  f"{manifest['metrics']['test_auc']:.4f}; recorded from its manifest after its "
                                  "process died", manifest_after=manifest,
                                  occurred_at=manifest.get("created_at") or iso(utc_now()) or "",
                                  event_id=publish_event_id(record.run_id)))

    def events_since(self, started_at: str | None) -> list[ModelEvent]:
        """Model events from `started_at` on (all the journal holds when the database is not readable)."""
        since = datetime.fromisoformat(started_at) if started_at else None
        if self.settings.use_db and not self.outbox.pending() and self._database() is not None:
            try:
                return list(self._db.events(None, since))
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        return [from_row("model_events", row) for row in self._journal_rows("model_events")]

    def _write(self, table: str, row: dict[str, Any]) -> None:
        if not self.settings.use_db:
            self.file_store.append(table, row)
            return
        if self.outbox.pending() or self._database() is None:
            self.outbox.append(table, row)  # behind what is queued: the database gets rows in write order
            self.drain_outbox(wait=False)
            return
        try:
            self._db.upsert(table, [row])
        except Exception as exc:  # noqa: BLE001 - any database fault falls back to the outbox
            self._down(exc)
            self.outbox.append(table, row)

    def drain_outbox(self, wait: bool = True) -> int:
        """Move queued outbox rows into the database, in write order; returns how many were replayed.

        Only one process replays at a time (see Journal.drain). A reader waits for one under way, to see
        the database caught up; a writer that has just queued its row passes wait=False and leaves the row
        to it."""
        db = self._database()
        if db is None or not self.outbox.pending():
            return 0
        replayed = 0

        def commit(rows: list[tuple[str, dict[str, Any]]]) -> bool:
            nonlocal replayed
            try:
                db.upsert_many(rows)
            except Exception as exc:  # noqa: BLE001 - a database fault leaves the rest queued
                self._down(exc)
                return False
            replayed += len(rows)
            return True

        if not self.outbox.drain(commit, wait) and wait and not self._db_failed:
            self._note(f"another process kept replaying {self.data_dir / OUTBOX_FILE} for {LOCK_TIMEOUT_SECONDS} s; "
                       "the records it holds may be missing here until it finishes")
        if replayed:
            log.info("History: replayed %d queued record(s) into the database", replayed)
        return replayed

    # -- reading -------------------------------------------------------------------------------
    def view(self, limit: int = 10, training_type: str | None = None, status: tuple[str, ...] | None = None,
             since: datetime | None = None) -> HistoryView:
        """The newest `limit` runs matching the filters (`status`: any of these stored statuses), with the
        model events of the same period."""
        since = as_utc(since) if since is not None else None
        if self.settings.use_db and self._database() is not None:
            self.drain_outbox()
            try:
                runs = self._db.runs(limit, training_type, status, since)
                events = self._db.events(None, _event_cutoff(runs, limit, since))
                return HistoryView(runs, events, f"database {mask_password(self.url)}",
                                   kind=f"{database_kind(self.url)} database")
            except Exception as exc:  # noqa: BLE001 - fall through to what the outbox holds
                self._down(exc)
        if not self.settings.use_db:
            origin, note, kind = f"file {self.data_dir / FILE_STORE}", None, "history file"
        elif self._not_created():
            origin, note, kind = f"no history yet ({self._sqlite_file()} does not exist)", None, "no history yet"
        else:
            origin = f"outbox {self.data_dir / OUTBOX_FILE}"
            kind = ("outbox: the database schema could not be upgraded" if self._schema_problem
                    else "outbox: the database was unreachable")
            note = (f"{self._schema_problem}; showing only the runs queued in the outbox since then"
                    if self._schema_problem else
                    f"database {mask_password(self.url)} is unreachable; showing only the runs queued in the "
                    "outbox since it went down")
        runs = [r for r in self._fold_runs(self._journal_rows("training_runs"))
                if (training_type is None or r.training_type == training_type)
                and (status is None or r.status in status)
                and (since is None or (r.started_at or "") >= iso(since))]
        runs = sorted(runs, key=lambda r: r.started_at or "", reverse=True)[:limit]
        cutoff = iso(_event_cutoff(runs, limit, since)) or ""
        events = [from_row("model_events", row) for row in self._journal_rows("model_events")]
        events = sorted((e for e in events if e.occurred_at >= cutoff), key=lambda e: e.occurred_at, reverse=True)
        return HistoryView(runs, events, origin, note, kind)

    def latest(self, training_type: str | None, statuses: tuple[str, ...] | None = None) -> RunRecord | None:
        """The newest run of a type (None: of any type), optionally with one of `statuses`, from the best
        source available."""
        if self.settings.use_db and self._database() is not None:
            self.drain_outbox()
            try:
                return self._db.latest_run(training_type, statuses)
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        runs = [r for r in self._fold_runs(self._journal_rows("training_runs"))
                if training_type in (None, r.training_type) and (statuses is None or r.status in statuses)]
        return max(runs, key=lambda r: r.started_at or "") if runs else None

    def latest_auc_check(self, model_run_id: str) -> AucCheck | None:
        """The newest live AUC measurement of a given model that produced a number, or None."""
        if self.settings.use_db and self._database() is not None:
            self.drain_outbox()
            try:
                return self._db.latest_auc_check(model_run_id)
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        checks = [from_row("auc_checks", r) for r in self._journal_rows("auc_checks")]
        checks = [c for c in checks if c.model_run_id == model_run_id and c.auc is not None]
        return max(checks, key=lambda c: c.measured_at) if checks else None

    def _journal_rows(self, table: str) -> list[dict[str, Any]]:
        journal = self.file_store if not self.settings.use_db else self.outbox
        return [row for t, row in journal.entries() if t == table]

    def _stored_runs(self) -> list[dict[str, Any]]:
        """Rows of running runs from the database when it is reachable and caught up, else the journal's rows."""
        if self.settings.use_db and not self.outbox.pending() and self._database() is not None:
            try:
                return [to_row(r) for r in self._db.runs(None, None, ("running",), None)]
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        return self._journal_rows("training_runs")

    @staticmethod
    def _fold_runs(rows: Iterable[dict[str, Any]]) -> list[RunRecord]:
        """Each run's newest snapshot."""
        latest: dict[str, dict[str, Any]] = {}
        for row in rows:
            if supersedes(row, latest.get(row["run_id"])):
                latest[row["run_id"]] = row
        return [from_row("training_runs", row) for row in latest.values()]

    # -- the database connection ---------------------------------------------------------------
    def _sqlite_file(self) -> Path | None:
        from autotrainer.history.database import sqlite_file

        return sqlite_file(self.url)

    def _not_created(self) -> bool:
        """A read-only look at an SQLite history that was never written: nothing to open, nothing to create."""
        path = self._sqlite_file()
        return self.read_only and path is not None and not path.exists()

    def _database(self) -> Any:
        if self._db is None and not self._db_failed and self.settings.use_db and not self._not_created():
            from autotrainer.history.database import HistoryDatabase

            try:
                self._db = HistoryDatabase(self.url)
            except ConfigError:
                raise  # a URL that can never work is a bad setting, not an outage
            except Exception as exc:  # noqa: BLE001
                self._down(exc)
        return self._db

    def _down(self, exc: BaseException) -> None:
        from autotrainer.history.database import SchemaError, describe_failure

        self._db_failed = True
        if self._db is not None:
            self._db.close()
            self._db = None
        if isinstance(exc, SchemaError):
            self._schema_problem = f"database {mask_password(self.url)} answers, but {exc}"
            self._note(f"{self._schema_problem}; history kept in {self.data_dir / OUTBOX_FILE} until the schema "
                       "is fixed (README: 'Run history and the database')", logging.ERROR)
            return
        self._note(f"database {mask_password(self.url)} unavailable ({describe_failure(exc, self.url)}); "
                   f"history kept in {self.data_dir / OUTBOX_FILE} and replayed when it is back")

    def _note(self, message: str, level: int = logging.WARNING) -> None:
        """A warning (or error) for the log and for the run's record, once per History."""
        if message not in self.warnings:
            self.warnings.append(message)
            log.log(level, "History: %s", message)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _event_cutoff(runs: list[RunRecord], limit: int, since: datetime | None) -> datetime | None:
    """Events worth showing beside these runs: from the oldest shown run on (or all, if the list is not full)."""
    if len(runs) == limit and runs[-1].started_at:
        return datetime.fromisoformat(runs[-1].started_at)
    return since


def history_url(settings: Settings) -> str:
    """The database a History of `settings` uses: 'database_url', else an SQLite file in 'data_dir'."""
    return settings.database_url or _default_url(settings.data_dir)


def _default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'autotrainer.db').as_posix()}"
