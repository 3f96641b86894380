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

`active_state` is the one reader of "what is published?" and never raises: a manifest that does not
parse, lacks a key the code reads, or names files that do not verify is a *broken* pair, which the next
run repairs (from a backup, else with the next candidate) instead of being stopped by it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from autotrainer import fsutil
from autotrainer.errors import ModelStoreError
from autotrainer.fsutil import fsync_dir, write_atomic
from autotrainer.timeutil import WIB

log = logging.getLogger("autotrainer")

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "autotrainer-manifest/1"
BACKUPS = "backups"
FORMER_NAMES = "former-names.txt"  # in a backup renamed to a newer name: the names it had, still valid for --to
STAGING = ".staging"
ROLES = ("xgboost", "hmm")
OPTIONAL_ROLES = ("guard",)  # the out-of-distribution guard's summary (models.guard); pairs before it lack one


def roles(manifest: dict[str, Any]) -> tuple[str, ...]:
    """The files a pair is made of: the two models, plus the optional ones its manifest names."""
    return ROLES + tuple(r for r in OPTIONAL_ROLES if r in manifest["files"])


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest in `directory`, or None when there is none; ModelStoreError when it is unusable. For
    callers a damaged manifest should stop; "what is published?" is answered by `active_state`."""
    path = directory / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    return parse_manifest(raw, path)


def parse_manifest(raw: bytes, path: Path) -> dict[str, Any]:
    """A manifest from its bytes, with every key the code reads present and of the right type; otherwise
    ModelStoreError naming `path` and the key, so no KeyError or TypeError can surface later."""
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelStoreError(f"{path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise ModelStoreError(f"{path} is not a usable manifest: it is nested too deeply to read") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelStoreError(f"{path} is not an autotrainer manifest")
    for key, required, check in MANIFEST_SCHEMA:
        problem = _schema_problem(manifest, key, required, check)
        if problem:
            raise ModelStoreError(f"{path} is not a usable manifest: {problem}")
    return manifest


def _schema_problem(manifest: dict[str, Any], key: str, required: bool, check: tuple[Any, str]) -> str | None:
    """What is wrong with one dotted key of the manifest, or None."""
    node: Any = manifest
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict):
            return f"'{'.'.join(parts[:depth])}' must be an object, not {type(node).__name__} {_clip(node)}"
        if part not in node:
            return f"'{'.'.join(parts[:depth + 1])}' is missing" if required else None
        node = node[part]
    valid, expected = check
    return None if valid(node) else f"'{key}' must be {expected}, not {type(node).__name__} {_clip(node)}"


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_file_name(value: Any) -> bool:
    return isinstance(value, str) and value not in ("", ".", "..") and Path(value).name == value and "\\" not in value


_TEXT = (lambda v: isinstance(v, str) and v != "", "a non-empty string")
_NUMBER = (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
_COUNT = (lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "a whole number >= 0")
_NAMES = (lambda v: isinstance(v, list) and all(isinstance(n, str) for n in v), "a list of strings")
_OPTIONAL_NUMBER = (lambda v: v is None or _NUMBER[0](v), "a number or null")
_TIME = (_is_time, "an ISO date and time")
_OBJECT = (lambda v: isinstance(v, dict), "an object")
_SHA256 = (lambda v: isinstance(v, str) and len(v) == 64 and all(c in "0123456789abcdef" for c in v),
           "a SHA-256 in hex")
_FILE_NAME = (_is_file_name, "a plain file name")
# (key, required, check): every key the code reads. Required ones have been written by every version since
# the first, so any manifest this version can serve still parses; optional ones are checked when present.
MANIFEST_SCHEMA: tuple[tuple[str, bool, tuple[Any, str]], ...] = (
    ("run_id", True, _TEXT),
    *((f"files.{role}.{key}", role in ROLES, check) for role in ROLES + OPTIONAL_ROLES
      for key, check in (("name", _FILE_NAME), ("sha256", _SHA256), ("bytes", _COUNT))),
    ("features", True, _NAMES),
    ("metrics.test_auc", True, _NUMBER),
    ("data.end", True, _TIME),
    ("data.test_start", True, _TIME),
    ("created_at", False, _TIME),
    ("symbol", False, _TEXT),
    ("timeframe", False, _TEXT),
    ("confidence_threshold", False, _NUMBER),
    ("lookahead", False, _COUNT),
    ("regime.states", False, _NAMES),
    ("settings.server_timezone", False, _TEXT),
    ("feature_spec", False, _OBJECT),  # its content is checked where it is used (FeatureSpec.from_manifest)
    # What `auc` shows: the training numbers and the test slice's signals.
    ("training_type", False, _TEXT),
    ("data.start", False, _TIME),
    ("data.source", False, _TEXT),
    ("data.bars", False, _COUNT),
    *((f"metrics.{key}", False, _OPTIONAL_NUMBER) for key in ("train_auc", "test_auc_low", "test_auc_high")),
    ("metrics.signals", False, _OBJECT),
    *((f"metrics.signals.signal_{key}", False, _COUNT) for key in ("rows", "buys", "sells", "hits")),
    *((f"metrics.signals.{key}", False, _OPTIONAL_NUMBER)
      for key in ("signal_coverage", "signal_hit_rate", "signal_hit_rate_low", "signal_hit_rate_high", "brier")),
)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2, sort_keys=False).encode("utf-8")


def read_verified(directory: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """Each file of the pair as bytes, after checking size and SHA-256 against the manifest."""
    contents: dict[str, bytes] = {}
    for role in roles(manifest):
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


@dataclass(frozen=True)
class ActiveState:
    """What a models directory serves: a verified pair, nothing, or a broken pair and why.

    The one answer to "what is published?": it never raises, so no caller (scheduler, pipeline, rollback,
    `auc`) can be stopped by the very damage it should repair.
    """

    manifest: dict[str, Any] | None  # the parsed manifest, also when its files do not verify
    problem: str | None = None  # why the pair cannot be served; None when it can or nothing was published
    contents: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)  # verified file bytes

    @property
    def published(self) -> bool:
        """A verified pair is live."""
        return self.manifest is not None and self.problem is None

    @property
    def broken(self) -> bool:
        """Something is there but cannot be served (unreadable manifest, missing or damaged file)."""
        return self.problem is not None


def active_state(directory: Path) -> ActiveState:
    """Read and verify `directory/manifest.json` and the pair it names, never raising."""
    path = directory / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ActiveState(None)
    except OSError as exc:
        return ActiveState(None, f"{path} cannot be read ({exc})")
    try:
        manifest = parse_manifest(raw, path)
    except ModelStoreError as exc:
        return ActiveState(None, str(exc))
    try:
        return ActiveState(manifest, None, read_verified(directory, manifest))
    except (ModelStoreError, OSError) as exc:
        return ActiveState(manifest, str(exc))


def same_pair(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Whether two manifests describe the same pair: same run id and the same file checksums."""
    return a is not None and b is not None and _identity(a) == _identity(b)


def _identity(manifest: dict[str, Any]) -> tuple[Any, ...]:
    return (manifest["run_id"], *((manifest["files"][r]["sha256"], manifest["files"][r]["bytes"]) for r in roles(manifest)))


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
    for role in ROLES + tuple(r for r in OPTIONAL_ROLES if r in files):
        name, data = files[role]
        write_atomic(directory / name, data)
        manifest["files"][role] = {"name": name, "sha256": sha256_bytes(data), "bytes": len(data)}
    write_atomic(directory / MANIFEST, manifest_bytes(manifest))
    read_verified(directory, manifest)
    return Staged(directory, manifest)


def _backup_name(models_dir: Path, now: datetime) -> Path:
    """backups/YYYYMMDD_HHMMSS (WIB); within one second _01, _02, ... after the highest taken, so a new name
    always sorts after the ones before it, even when a backup of that second was renamed away."""
    root = models_dir / BACKUPS
    base = now.astimezone(WIB).strftime("%Y%m%d_%H%M%S")
    taken = [p.name.removeprefix(base) for p in root.glob(f"{base}*")] if root.is_dir() else []
    if not taken:
        return root / base
    last = max(int(suffix[1:]) if suffix[1:].isdigit() else 0 for suffix in taken)
    return root / f"{base}_{last + 1:02d}"


def backup_active(models_dir: Path, now: datetime, keep: int) -> Path | None:
    """Keep the active, verified pair in backups/YYYYMMDD_HHMMSS (WIB) before it is replaced; prune to `keep`.

    A pair that is already in a backup is not copied again: that backup is renamed to now instead. So
    the newest backup is always the pair replaced last (a second `rollback` undoes the first), and rolling
    back and forth never pushes a distinct older model out of the `keep` newest. The names it had are kept
    in it (FORMER_NAMES), so a name printed earlier (an "Undo with: rollback --to ..." line) still works.
    """
    state = active_state(models_dir)
    if state.broken:
        raise ModelStoreError(state.problem)
    if state.manifest is None:
        return None
    target = _backup_name(models_dir, now)
    existing = find_backup(models_dir, state.manifest)
    if existing is not None:
        write_atomic(existing / FORMER_NAMES, "".join(f"{name}\n" for name in backup_names(existing)).encode())
        fsutil.replace(existing, target)
        log.info("Backup %s already held the replaced pair: renamed to %s (the old name still works)",
                 existing.name, target.name)
    else:
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for role in roles(state.manifest):
            write_atomic(tmp / state.manifest["files"][role]["name"], state.contents[role])
        write_atomic(tmp / MANIFEST, manifest_bytes(state.manifest))
        fsutil.replace(tmp, target)
    fsync_dir(target.parent)
    prune_backups(models_dir, keep)
    return target


def backup_names(path: Path) -> list[str]:
    """Every name a backup answers to: its own, then the names it had before de-duplication renamed it."""
    try:
        former = (path / FORMER_NAMES).read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError):
        former = []
    return [path.name, *(name for name in former if name != path.name)]


def find_backup(models_dir: Path, manifest: dict[str, Any] | None) -> Path | None:
    """The newest backup that verifies and holds the same pair as `manifest`, if any."""
    for path in list_backups(models_dir):
        backup = active_state(path)
        if backup.published and same_pair(backup.manifest, manifest):
            return path
    return None


def backup_if_sound(models_dir: Path, now: datetime, keep: int) -> Path | None:
    """Back the active pair up before it is replaced; a pair that no longer verifies is not worth keeping
    (and must not block the replacement that repairs it), so it is skipped with a warning."""
    try:
        return backup_active(models_dir, now, keep)
    except ModelStoreError as exc:
        log.warning("The active pair was not backed up: %s", exc)
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
    for leftover in (models_dir / BACKUPS).glob(f"*/.{FORMER_NAMES}.tmp-*"):  # a rename's note, killed mid-write
        leftover.unlink(missing_ok=True)


def publish(models_dir: Path, staged: Staged) -> None:
    """Swap the staged pair in: files first (new names), manifest last (the commit), then tidy up.

    An exception means the swap did not happen and the old pair is still the published one; once the
    manifest is replaced nothing raises (a failed tidy-up is only a warning), so a return means the new
    pair is live. Callers rely on this to never report a live model as "unchanged".
    """
    read_verified(staged.directory, staged.manifest)
    for role in roles(staged.manifest):
        name = staged.manifest["files"][role]["name"]
        fsutil.replace(staged.directory / name, models_dir / name)
    fsync_dir(models_dir)
    read_verified(models_dir, staged.manifest)
    data = manifest_bytes(staged.manifest)
    try:
        write_atomic(models_dir / MANIFEST, data)
    except OSError as exc:
        if not _holds(models_dir / MANIFEST, data):
            raise
        log.warning("The new manifest is in place but flushing %s failed (%s)", models_dir, exc)
    shutil.rmtree(staged.directory, ignore_errors=True)
    try:
        remove_unreferenced(models_dir, staged.manifest)
    except OSError as exc:
        log.warning("Old model files in %s not removed (%s); the next publish removes them", models_dir, exc)


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def remove_unreferenced(models_dir: Path, manifest: dict[str, Any]) -> None:
    """Delete model files `manifest` (the active one) does not name: old pairs, leftovers of a crashed publish."""
    keep = {MANIFEST} | {e["name"] for e in manifest["files"].values()}
    for path in models_dir.iterdir():
        if path.is_file() and path.name not in keep and path.name.startswith(("xgboost_model-", "hmm_regime-", "guard-", ".")):
            try:
                path.unlink()
            except OSError:
                pass  # a reader on Windows may hold it open; the next run removes it


def discard_staging(models_dir: Path) -> None:
    """Remove staging leftovers (from this run or a crashed one)."""
    shutil.rmtree(models_dir / STAGING, ignore_errors=True)
