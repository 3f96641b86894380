"""The manifest: what a published pair is, how it was made and how well it did.

It names the two model files (with their SHA-256, added by `store.stage`), the ordered feature list and
how to compute it, the regime states, the metrics with the test AUC's interval, the training data's range
and fingerprint, the settings (secrets masked), the audit these features passed and the library versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autotrainer import __version__
from autotrainer.config import Settings
from autotrainer.history.service import RunRecord
from autotrainer.timeutil import iso


def build_manifest(settings: Settings, record: RunRecord, regime: Any, outcome: Any, test_rows: Any, frame: Any,
                   spec: Any, audit: Any, created_at: datetime, signals: Any) -> dict[str, Any]:
    """Everything needed to trust and serve the pair; `store.stage` adds the files and their checksums."""
    return {
        "run_id": record.run_id,
        "created_at": iso(created_at),
        "training_type": record.training_type,
        "trigger": record.trigger,
        "symbol": settings.symbol,
        "timeframe": settings.timeframe,
        "status": record.status,
        "features": list(test_rows.columns),
        "feature_spec": spec.to_manifest(),  # how the bot recomputes them (built-ins, plugins)
        "audit": audit.manifest_entry(),  # the look-ahead audit these features passed
        "confidence_threshold": settings.confidence_threshold,
        "thresholds": published_thresholds(settings),  # what it was judged by: `auc` judges it by these too
        "lookahead": settings.lookahead,
        "regime": {"states": regime.state_names, "lookback": regime.lookback,
                   "shares_in_training": outcome.regime_shares, "fit": regime.fit_info},
        "metrics": {
            "train_auc": record.train_auc, "test_auc": record.test_auc,
            "test_auc_low": record.test_auc_low, "test_auc_high": record.test_auc_high,  # 95% DeLong interval
            "validation_auc": record.validation_auc, "train_accuracy": record.train_accuracy,
            "test_accuracy": record.test_accuracy, "best_iteration": record.best_iteration,
            "rounds_requested": record.num_boost_rounds, "split": outcome.split,
            "top_features": dict(outcome.top_features),
            "signals": signals.to_json(),  # what the bot would have done on the test slice at confidence_threshold
        },
        "data": {
            "source": record.source, "bars": record.bars_used, "start": record.data_start, "end": record.data_end,
            "fingerprint": record.data_fingerprint,
            "test_start": iso(frame["time"].loc[test_rows.index[0]].to_pydatetime()),
            "test_end": iso(frame["time"].loc[test_rows.index[-1]].to_pydatetime()),
        },
        "settings": settings.public_dict(),
        "versions": library_versions(),
    }


def published_thresholds(settings: Settings) -> dict[str, Any]:
    """Every threshold a candidate is judged by when it is published (a one-run override included)."""
    return {"floor": settings.rollback_auc_threshold, "min_auc_threshold": settings.min_auc_threshold,
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
        recorded = {k: snapshot.get("rollback_auc_threshold" if k == "floor" else k) for k in today}
    return {k: recorded[k] if _same_kind(recorded.get(k), v) else v for k, v in today.items()}


def _same_kind(value: Any, like: Any) -> bool:
    """A recorded value is used only if it is what the setting is (a number, or a rule name)."""
    if isinstance(like, str):
        return isinstance(value, str)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def library_versions() -> dict[str, str]:
    """Versions that decide whether a model file loads and behaves the same elsewhere."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"autotrainer": __version__, "python": platform.python_version()}
    for package in ("xgboost", "xgboost-cpu", "hmmlearn", "numpy", "pandas", "ta-lib", "scikit-learn"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            continue
    return found
