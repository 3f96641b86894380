"""The model store: staging, verification, backups and the atomic publish of the model pair.

Layout of `models_dir`:

    manifest.json                    <- the single commit point: names the active pair and its checksums
    xgboost_model-<run_id>.ubj       <- the files it names (versioned names, never overwritten in place)
    hmm_regime-<run_id>.json
    backups/YYYYMMDD_HHMMSS/         <- earlier pairs with their manifests, newest 5 kept
    .staging/<run_id>/               <- candidates being written and verified

Publishing moves the verified candidate files in beside the active ones, then replaces manifest.json
with one atomic rename, then deletes the old pair. A crash before the rename leaves the old manifest
naming the old, untouched files; after it, the new ones. No moment exists where manifest and files mix.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from autotrainer import fsutil
from autotrainer.errors import ModelStoreError
from autotrainer.fsutil import fsync_dir, write_atomic
from autotrainer.timeutil import WIB

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "autotrainer-manifest/1"
BACKUPS = "backups"
STAGING = ".staging"
ROLES = ("xgboost", "hmm")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest in `directory`, or None when there is none; ModelStoreError when it is unreadable."""
    path = directory / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_manifest(raw, path)


def parse_manifest(raw: bytes, path: Path) -> dict[str, Any]:
    """A manifest from its bytes; ModelStoreError naming `path` when it is not one."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelStoreError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelStoreError(f"{path} is not an autotrainer manifest")
    return manifest


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=False).encode("utf-8")


def read_verified(directory: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Each file of the pair as bytes, after checking size and SHA-256 against the manifest."""
    contents: dict[str, bytes] = {}
    for role in ROLES:
        entry = manifest["files"][role]
        path = directory / entry["name"]
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ModelStoreError(f"{path} named in {directory / MANIFEST} is missing") from None
        if len(data) != entry["bytes"] or sha256_bytes(data) != entry["sha256"]:
            raise ModelStoreError(
                f"{path} does not match {directory / MANIFEST} (SHA-256 {sha256_bytes(data)[:12]}..., "
                f"expected {entry['sha256'][:12]}...); refusing to use it"
            )
        contents[role] = data
    return contents


@dataclass
class Staged:
    """A candidate pair written and checksummed in the staging area, with its manifest."""

    directory: Path
    manifest: dict[str, Any]


def staging_dir(models_dir: Path, run_id: str) -> Path:
    path = models_dir / STAGING / run_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage(directory: Path, files: dict[str, tuple[str, bytes]], manifest: dict[str, Any]) -> Staged:
    """Write each role's file (name, bytes), record checksums in the manifest, and verify by reading back."""
    manifest = {"format": MANIFEST_FORMAT, **manifest, "files": {}}
    for role in ROLES:
        name, data = files[role]
        write_atomic(directory / name, data)
        manifest["files"][role] = {"name": name, "sha256": sha256_bytes(data), "bytes": len(data)}
    write_atomic(directory / MANIFEST, manifest_bytes(manifest))
    read_verified(directory, manifest)
    return Staged(directory, manifest)


def _backup_name(models_dir: Path, now: datetime) -> Path:
    root = models_dir / BACKUPS
    base = now.astimezone(WIB).strftime("%Y%m%d_%H%M%S")
    candidate, n = root / base, 1
    while candidate.exists():  # several publishes within one second: _01, _02, ... sort after the plain name
        candidate, n = root / f"{base}_{n:02d}", n + 1
    return candidate


def backup_active(models_dir: Path, now: datetime, keep: int) -> Path | None:
    """Copy the active, verified pair and its manifest to backups/YYYYMMDD_HHMMSS (WIB); prune to `keep`."""
    manifest = read_manifest(models_dir)
    if manifest is None:
        return None
    contents = read_verified(models_dir, manifest)
    target = _backup_name(models_dir, now)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for role in ROLES:
        write_atomic(tmp / manifest["files"][role]["name"], contents[role])
    write_atomic(tmp / MANIFEST, manifest_bytes(manifest))
    fsutil.replace(tmp, target)
    fsync_dir(target.parent)
    prune_backups(models_dir, keep)
    return target


def backup_if_sound(models_dir: Path, now: datetime, keep: int) -> Path | None:
    """Back the active pair up before it is replaced; a pair that no longer verifies is not worth keeping
    (and must not block the replacement that repairs it), so it is skipped with a warning."""
    try:
        return backup_active(models_dir, now, keep)
    except ModelStoreError as exc:
        logging.getLogger("autotrainer").warning("The active pair was not backed up: %s", exc)
        return None


def list_backups(models_dir: Path) -> list[Path]:
    """Backup directories, newest first."""
    root = models_dir / BACKUPS
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name, reverse=True)


def prune_backups(models_dir: Path, keep: int) -> None:
    """Keep the newest `keep` backups; also clear half-written ones a killed run left (caller holds the lock)."""
    for old in list_backups(models_dir)[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for leftover in (models_dir / BACKUPS).glob(".*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)


def publish(models_dir: Path, staged: Staged) -> None:
    """Swap the staged pair in: files first (new names), manifest last (the commit), then tidy up."""
    read_verified(staged.directory, staged.manifest)
    for role in ROLES:
        name = staged.manifest["files"][role]["name"]
        fsutil.replace(staged.directory / name, models_dir / name)
    fsync_dir(models_dir)
    read_verified(models_dir, staged.manifest)
    write_atomic(models_dir / MANIFEST, manifest_bytes(staged.manifest))
    shutil.rmtree(staged.directory, ignore_errors=True)
    remove_unreferenced(models_dir)


def remove_unreferenced(models_dir: Path) -> None:
    """Delete model files the active manifest does not name (old pairs, leftovers of a crashed publish)."""
    manifest = read_manifest(models_dir)
    keep = {MANIFEST} | ({e["name"] for e in manifest["files"].values()} if manifest else set())
    for path in models_dir.iterdir():
        if path.is_file() and path.name not in keep and path.name.startswith(("xgboost_model-", "hmm_regime-", ".")):
            try:
                path.unlink()
            except OSError:
                pass  # a reader on Windows may hold it open; the next run removes it


def discard_staging(models_dir: Path) -> None:
    """Remove staging leftovers (from this run or a crashed one)."""
    shutil.rmtree(models_dir / STAGING, ignore_errors=True)
