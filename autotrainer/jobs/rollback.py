"""Rollback: put a backed-up pair back, verified, atomically, recorded, and itself undoable.

The pair being replaced is backed up first (a backup that already holds it is renamed to now rather than
copied again), so the newest backup is always the pair replaced last: `autotrainer rollback` restores the
newest backup that is not the live pair, and run twice it undoes itself. A backup is restored only if its
files match its manifest and this version can compute every feature it needs; otherwise nothing changes
and the refusal says why (exit 2). Once the swap is done the rollback stands even if its event cannot be
recorded (exit 8 with a warning). The same machinery restores the newest good backup automatically when
the active pair is broken (a `restore` event).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autotrainer.config import Settings
from autotrainer.errors import EXIT_OK, EXIT_UNRECORDED, ModelStoreError
from autotrainer.fsutil import remove_stale_temps
from autotrainer.history.records import ModelEvent
from autotrainer.history.service import History
from autotrainer.jobs.announce import after_rollback
from autotrainer.jobs.settle import settle_dead_runs
from autotrainer.lock import run_lock
from autotrainer.schedule import state as scheduler_state
from autotrainer.store import pairs as store
from autotrainer.timeutil import iso, utc_now

log = logging.getLogger("autotrainer")


@dataclass
class BackupInfo:
    """One backup directory as `rollback --list` shows it."""

    name: str
    path: Path
    manifest: dict[str, Any] | None
    problem: str | None  # None when it verifies and can be restored
    active: bool = False  # it holds the pair that is live now

    @property
    def verifies(self) -> bool:
        return self.problem is None


@dataclass
class RollbackResult:
    restored: BackupInfo
    replaced_backup: Path | None
    manifest_before: dict[str, Any] | None
    warnings: list[str] = field(default_factory=list)  # the swap happened, but e.g. its event was not recorded

    @property
    def exit_code(self) -> int:
        return EXIT_UNRECORDED if self.warnings else EXIT_OK


def check_backup(path: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The backup's manifest and verified file contents; ModelStoreError saying what is wrong otherwise."""
    from autotrainer.models.inputs import missing_features
    from autotrainer.store.bundle import bundle_from_bytes

    state = store.active_state(path)
    if state.broken:
        raise ModelStoreError(state.problem)
    if state.manifest is None:
        raise ModelStoreError(f"backup {path} has no {store.MANIFEST}")
    bundle_from_bytes(path, state.manifest, state.contents)  # a file that verifies but cannot load is refused too
    missing = missing_features(state.manifest)
    if missing:
        raise ModelStoreError(f"backup {path.name} needs feature(s) this version cannot compute: {', '.join(missing)}")
    return state.manifest, state.contents


def list_backups(settings: Settings) -> list[BackupInfo]:
    """Every backup, newest first, with whether it verifies and why not, and which one holds the live pair."""
    active = store.active_state(settings.models_dir)
    infos = []
    for path in store.list_backups(settings.models_dir):
        try:
            manifest, _ = check_backup(path)
            problem = None
        except ModelStoreError as exc:
            manifest, problem = store.active_state(path).manifest, str(exc)
        live = active.published and problem is None and store.same_pair(manifest, active.manifest)
        infos.append(BackupInfo(path.name, path, manifest, problem, live))
    return infos


def rollback(settings: Settings, reason: str, to: str | None = None, now: datetime | None = None) -> RollbackResult:
    """Restore the newest backup that is not the live pair (or the one named `to`) under the run lock, and
    record it."""
    with run_lock(settings.data_dir, settings.lock_timeout_seconds, command="autotrainer rollback"):
        remove_stale_temps(settings.data_dir, settings.models_dir)
        history = History(settings)
        try:
            settle_dead_runs(history, settings.models_dir)  # holding the lock: a 'running' run has died
            target = _target(settings, to)
            result = _restore(settings, target, "rollback", reason, history, now or utc_now())
            after_rollback(settings, result.restored.manifest or {}, result.restored.name, reason, result.replaced_backup)
            return result
        finally:
            scheduler_state.refresh(settings, history)
            history.close()


def _target(settings: Settings, to: str | None) -> Path:
    """The backup to restore; ModelStoreError when there is none or it already holds the live pair."""
    backups = store.list_backups(settings.models_dir)
    if not backups:
        raise ModelStoreError(f"no backup to roll back to in {settings.models_dir / store.BACKUPS}")
    live = store.active_state(settings.models_dir)
    is_live = {b: live.published and store.same_pair(store.active_state(b).manifest, live.manifest) for b in backups}
    if to is None:
        others = [b for b in backups if not is_live[b]]
        if not others:
            raise ModelStoreError(f"the only backup ({backups[0].name}) holds the active pair: nothing to roll back to")
        return others[0]
    named = [b for b in backups if b.name == to] or [b for b in backups if to in store.backup_names(b)]
    if not named:
        raise ModelStoreError(f"no backup named {to!r}; available: {', '.join(b.name for b in backups)}")
    if is_live[named[0]]:
        raise ModelStoreError(f"backup {to} holds the active pair (run {live.manifest['run_id']}) already")
    return named[0]


def restore_if_corrupt(settings: Settings, history: History, now: datetime,
                       active: store.ActiveState | None = None) -> RollbackResult | None:
    """If the active pair is broken (manifest unreadable or incomplete, a file missing or damaged), put the
    newest good backup back (caller holds the lock); None when it is sound or nothing could be restored.
    `active`: the pair the caller has just read under the lock (default: read it here)."""
    active = active if active is not None else store.active_state(settings.models_dir)
    if not active.broken:
        return None
    log.error("Active models are broken (%s); restoring the newest good backup", active.problem)
    for path in store.list_backups(settings.models_dir):
        try:
            return _restore(settings, path, "restore", f"active pair was broken: {active.problem}", history, now)
        except ModelStoreError as exc:
            log.warning("Backup %s cannot be restored: %s", path.name, exc)
    log.error("No backup verifies; the bot has no loadable model until a retrain publishes one")
    return None


def record_swap(history: History, event: ModelEvent) -> str | None:
    """Record the event of a swap that has already happened. Never raises: failing here cannot undo the
    swap, so a failure is returned as a warning that says the new pair IS live."""
    try:
        history.add_event(event)
    except Exception as exc:  # noqa: BLE001 - the swap is done; only the record of it is missing
        warning = (f"the {event.kind} of run {event.run_id} happened and that pair IS live now, but its event could "
                   f"not be recorded ({type(exc).__name__}: {exc})")
        log.error("History: %s", warning)
        return warning
    return None


def _restore(settings: Settings, path: Path, kind: str, reason: str, history: History, now: datetime) -> RollbackResult:
    manifest, contents = check_backup(path)
    files = {role: (manifest["files"][role]["name"], contents[role]) for role in store.roles(manifest)}
    body = {k: v for k, v in manifest.items() if k not in ("format", "files")}
    staged = store.stage(store.staging_dir(settings.models_dir, f"{kind}-{uuid.uuid4().hex[:8]}"), files, body)
    before = store.active_state(settings.models_dir).manifest
    replaced = store.backup_if_sound(settings.models_dir, now, settings.backups_kept)
    store.publish(settings.models_dir, staged)  # the point of no return: from here on the backup's pair is live
    store.discard_staging(settings.models_dir)
    log.info("Restored backup %s (run %s, test AUC %.4f)%s", path.name, manifest["run_id"],
             manifest["metrics"]["test_auc"], f"; replaced pair backed up to {replaced}" if replaced else "")
    unrecorded = record_swap(history, ModelEvent(kind, manifest["run_id"], reason, str(replaced) if replaced else None,
                                                 manifest_before=before, manifest_after=manifest,
                                                 occurred_at=iso(now) or ""))
    return RollbackResult(BackupInfo(path.name, path, manifest, None, True), replaced, before,
                          [unrecorded] if unrecorded else [])
