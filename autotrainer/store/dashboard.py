"""The bot dashboard's "Model Insights" file, describing the pair that is live now.

The original bot's web dashboard reads `data/model_metrics.json`; the bot writes it on start-up from the model
it loaded (gain importance of the XGBoost booster as shares of the total, the top 20 rounded to 4 places, the
train and test AUC, the rows trained and tested, and the time in WIB). We write the same shape from the same
live pair after every publish and rollback, atomically, so the card never shows a model that is gone and the
bot's own rewrite at start-up agrees with ours.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from autotrainer.fsutil import write_atomic
from autotrainer.rules import sample_count
from autotrainer.timeutil import WIB

TOP_FEATURES = 20


def feature_importance(booster: Any, features: list[str]) -> list[dict[str, Any]]:
    """The booster's gain per feature as a share of the total gain, largest first, the top 20 (as the bot
    computes it: a booster without names reports f0, f1, ... which map to the manifest's feature order)."""
    gains = booster.get_score(importance_type="gain")
    named = {}
    for key, gain in gains.items():
        index = int(key[1:]) if key[:1] == "f" and key[1:].isdigit() else None
        named[features[index] if index is not None and index < len(features) else key] = gain
    total = sum(named.values()) or 1.0
    ranked = sorted(named.items(), key=lambda item: item[1], reverse=True)[:TOP_FEATURES]
    return [{"name": name, "importance": round(gain / total, 4)} for name, gain in ranked]


def model_metrics(manifest: dict[str, Any], booster: Any, now: datetime) -> dict[str, Any]:
    """The dashboard's model card for a pair, in the bot's exact shape and key order."""
    metrics = manifest["metrics"]
    return {
        "featureImportance": feature_importance(booster, list(manifest["features"])),
        "trainAuc": metrics.get("train_auc") or 0,
        "testAuc": metrics.get("test_auc") or 0,
        "sampleCount": sample_count(metrics.get("split") or {}) or 0,
        "updatedAt": now.astimezone(WIB).isoformat(),
    }


def write_model_metrics(models_dir: Path, target: Path, now: datetime) -> dict[str, Any] | None:
    """Write the card for the pair live in `models_dir` to `target`, atomically (None when nothing is
    published). The pair is loaded as the bot loads it: verified against its manifest."""
    from autotrainer.store.bundle import load_bundle
    from autotrainer.store.pairs import read_manifest

    if read_manifest(models_dir) is None:
        return None
    bundle = load_bundle(models_dir)
    card = model_metrics(bundle.manifest, bundle.booster, now)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(card, indent=2).encode("utf-8"))
    return card
