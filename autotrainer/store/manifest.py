"""What a manifest says about the thresholds a pair was judged by, and the library versions it records.

The manifest itself (files and checksums, features, regime states, metrics with intervals, data range and
fingerprint, settings without secrets, the audit it passed) is written by the retrain job
(`jobs/run_manifest.py`) and checked on every read by `store.pairs.parse_manifest`.
"""

from __future__ import annotations

import functools
from typing import Any

from autotrainer import __version__
from autotrainer.config import Settings


def published_thresholds(settings: Settings) -> dict[str, Any]:
    """Every threshold a candidate is judged by when it is published (a one-run override included)."""
    return {"floor": settings.publish_floor_auc, "min_auc_threshold": settings.min_auc_threshold,
            "confidence_threshold": settings.confidence_threshold, "champion_rule": settings.champion_rule,
            "champion_alpha": settings.champion_alpha, "champion_tolerance": settings.champion_tolerance,
            "champion_min_rows": settings.champion_min_rows}


def thresholds_of(manifest: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The thresholds a published pair was judged by: recorded in its manifest, else in its settings snapshot
    (older versions), else today's settings."""
    today = published_thresholds(settings)
    recorded = manifest.get("thresholds")
    if not isinstance(recorded, dict):
        snapshot = manifest.get("settings") if isinstance(manifest.get("settings"), dict) else {}
        floor = snapshot.get("publish_floor_auc", snapshot.get("rollback_auc_threshold"))  # its name before 0.2
        recorded = {k: floor if k == "floor" else snapshot.get(k) for k in today}
    return {k: recorded[k] if _same_kind(recorded.get(k), v) else v for k, v in today.items()}


def _same_kind(value: Any, like: Any) -> bool:
    """A recorded value is used only if it is what the setting is (a number, or a rule name)."""
    if isinstance(like, str):
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def library_versions() -> dict[str, str]:
    """Versions that decide whether a model file loads and behaves the same elsewhere (a copy: callers keep it)."""
    return dict(_library_versions())


@functools.lru_cache(maxsize=1)
def _library_versions() -> dict[str, str]:
    """Read once a process, like `recipe.package_digest`: the libraries a process runs are the ones it loaded,
    and looking each up in the installed metadata cost a replay milliseconds at every run, twice."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"autotrainer": __version__, "python": platform.python_version()}
    for package in ("xgboost", "xgboost-cpu", "hmmlearn", "numpy", "pandas", "ta-lib", "scikit-learn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found


def serving_entries(settings: Settings, guard: dict[str, Any] | None) -> dict[str, Any]:
    """What the manifest tells the bot about serving the pair: how long it may trade on it (market hours
    after its training data; 0 = no limit), and the guard's threshold (its summary is the pair's guard file)."""
    entries: dict[str, Any] = {"model_max_age_hours": settings.model_max_age_hours}
    if guard is not None:
        entries["guard"] = {"threshold": guard["threshold"], "columns": len(guard["columns"]),
                            "training_rows": guard["rows"], "validation_rows": guard["validation_rows"]}
    return entries

