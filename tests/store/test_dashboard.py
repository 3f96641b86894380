"""The bot dashboard's model card (data/model_metrics.json): after a publish it is the live model's, computed
as the bot computes it on start-up; after a rollback it describes the restored model."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from bot_api import broken_bars
from conftest import PUBLISHABLE

from autotrainer.config import Settings
from autotrainer.jobs.retrain import retrain
from autotrainer.jobs.rollback import rollback
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle

BOT_KEYS = ["featureImportance", "trainAuc", "testAuc", "sampleCount", "updatedAt"]


def as_the_bot_computes_it(models_dir: Path) -> dict[str, Any]:
    """The bot's `_write_model_metrics` on the pair it loads: gain shares of the total, top 20, 4 places; the
    train/test AUC and the rows trained and tested from the model's own record."""
    bundle = load_bundle(models_dir)
    gains = bundle.booster.get_score(importance_type="gain")
    total = sum(gains.values())
    ranked = sorted(gains.items(), key=lambda x: x[1], reverse=True)[:20]
    metrics, split = bundle.manifest["metrics"], bundle.manifest["metrics"]["split"]
    return {"featureImportance": [{"name": n, "importance": round(v / total, 4)} for n, v in ranked],
            "trainAuc": metrics["train_auc"], "testAuc": metrics["test_auc"],
            "sampleCount": split["fit"] + split["validation"] + split["test"]}


def card(settings: Settings) -> dict[str, Any]:
    return json.loads(Path(settings.dashboard_metrics_file).read_text(encoding="utf-8"))


def test_after_a_publish_the_card_is_the_live_models(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(**PUBLISHABLE)
    assert Path(settings.dashboard_metrics_file) == tmp_path / "data" / "model_metrics.json"  # the bot's path
    outcome = retrain(settings, "initial")
    assert outcome.published
    written = card(settings)
    assert list(written) == BOT_KEYS
    assert {k: v for k, v in written.items() if k != "updatedAt"} == as_the_bot_computes_it(settings.models_dir)
    shares = [item["importance"] for item in written["featureImportance"]]
    assert 0 < len(shares) <= 20 and shares == sorted(shares, reverse=True) and sum(shares) <= 1.0001
    assert written["sampleCount"] == outcome.record.sample_count and written["testAuc"] == outcome.record.test_auc
    updated = datetime.fromisoformat(written["updatedAt"])
    assert updated.utcoffset() == timedelta(hours=7)  # WIB, as the bot writes it
    assert not list(settings.data_dir.glob(".model_metrics.json.tmp*"))  # written atomically, nothing left over


def test_after_a_rollback_the_card_describes_the_restored_model(two_published_pairs: Settings) -> None:
    settings = two_published_pairs
    before = card(settings)  # written when B was published over A
    assert {k: v for k, v in before.items() if k != "updatedAt"} == as_the_bot_computes_it(settings.models_dir)
    result = rollback(settings, "B trades worse than A")
    after = card(settings)
    restored = as_the_bot_computes_it(settings.models_dir)
    assert result.restored.manifest["metrics"]["train_auc"] == restored["trainAuc"]
    assert {k: v for k, v in after.items() if k != "updatedAt"} == restored
    assert (after["trainAuc"], after["sampleCount"]) != (before["trainAuc"], before["sampleCount"])


def test_an_empty_setting_switches_the_card_off(two_published_pairs: Settings, make_settings: Callable[..., Settings],
                                                tmp_path: Path) -> None:
    settings = make_settings(**{**PUBLISHABLE, "champion_tolerance": 0.5, "dashboard_metrics_file": ""})
    path = tmp_path / "data" / "model_metrics.json"
    before = path.read_bytes()
    rollback(settings, "card switched off")
    assert path.read_bytes() == before


def test_a_pair_restored_over_a_broken_one_gets_the_card(two_published_pairs: Settings, sample_frame: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    settings = replace(two_published_pairs, source=str(broken_bars(sample_frame, tmp_path / "bad.csv")))
    live = store.read_manifest(settings.models_dir)
    (settings.models_dir / live["files"]["xgboost"]["name"]).write_bytes(b"damaged")  # B's booster is gone
    outcome = retrain(settings, "daily", bars=2000)  # restores A from its backup, then fails on the bars
    assert outcome.exit_code == 2 and store.read_manifest(settings.models_dir)["run_id"] != live["run_id"]
    assert {k: v for k, v in card(settings).items() if k != "updatedAt"} == as_the_bot_computes_it(settings.models_dir)
