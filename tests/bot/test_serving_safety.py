"""Model expiry and drift through the bot's API and `auc`: an old pair gives no signal, a fresh one trades."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE, write_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.jobs.monitor import measure
from autotrainer.jobs.retrain import retrain
from autotrainer.live import min_bars, predict_latest
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle

runner = CliRunner()


def test_an_expired_pair_gives_no_signal_and_auc_says_so_while_a_fresh_one_trades(
        make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    early = write_bars(sample_frame.iloc[:6000], tmp_path / "early.csv")
    settings = make_settings(**PUBLISHABLE, source=str(early), confidence_threshold=0.5)  # every bar signals
    assert retrain(settings, "initial").published
    bundle = load_bundle(settings.models_dir)
    assert bundle.manifest["model_max_age_hours"] == 72.0
    needed = min_bars(bundle)
    fresh = predict_latest(bundle, sample_frame.iloc[6004 - needed:6004].reset_index(drop=True))  # 1 h later
    assert fresh.model_age_hours == 1.0 and not (fresh.withheld or "").startswith("model")
    with caplog.at_level(logging.WARNING, logger="autotrainer.live"):
        old = [predict_latest(bundle, sample_frame.iloc[end - needed:end].reset_index(drop=True))
               for end in (6400, 6401, 6402)]  # 100 hours of bars later: beyond 72 market hours
    assert all(s.action == "HOLD" and "expired" in s.withheld and s.model_age_hours > 72 for s in old)
    warned = [r for r in caplog.records if r.name == "autotrainer.live" and "expired" in r.getMessage()]
    assert len(warned) == 1  # one warning, not one per bar
    at = sample_frame["time"].iloc[6399].to_pydatetime()
    report = measure(settings, now=at)
    assert report.expiry["expired"] and report.expiry["expired_since"] < at.isoformat()
    assert not measure(settings, now=sample_frame["time"].iloc[6004].to_pydatetime()).expiry["expired"]
    (tmp_path / "autotrainer.toml").write_text(f'source = "{early}"\n')
    data = json.loads(runner.invoke(app, ["auc", "--json"]).stdout)  # today: many months after its data
    assert data["expired"] is True and data["expiry"]["expired_since"] is not None
    assert "EXPIRED since" in runner.invoke(app, ["check"]).stderr + runner.invoke(app, ["check"]).stdout


def test_a_pair_from_before_the_guard_still_loads_and_trades(published_pair: Settings,
                                                               sample_frame: pd.DataFrame) -> None:
    models = published_pair.models_dir
    manifest = store.read_manifest(models)
    (models / manifest["files"].pop("guard")["name"]).unlink()
    del manifest["guard"], manifest["model_max_age_hours"]
    (models / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    bundle = load_bundle(models)
    assert bundle.guard is None
    signal = predict_latest(bundle, sample_frame.iloc[-min_bars(bundle):].reset_index(drop=True))
    assert signal.guard_score is None and signal.withheld is None and signal.action in ("BUY", "SELL", "HOLD")


def test_auc_live_json_has_drift_figures_on_the_volatile_weeks_after_training(
        make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path) -> None:
    # No drift on the training period's own rows: tests/models/test_guard.py (drift has no labels to wait for).
    early = write_bars(sample_frame.iloc[:6000], tmp_path / "early.csv")  # June to September 2025
    assert retrain(make_settings(**PUBLISHABLE, source=str(early)), "initial").published
    (tmp_path / "autotrainer.toml").write_text('source = "sample"\ndaily_bars = 3000\n')  # the newest, Jan-Feb 2026
    late = json.loads(runner.invoke(app, ["auc", "--live", "--json"]).stdout)
    volatile = late["drift"]
    assert volatile["drift_bars"] == 2900 and volatile["drift_share"] >= 0.3 and volatile["guard_withheld_share"] > 0.2
    assert late["live_taken_now"]["drift_share"] == volatile["drift_share"]
    assert {"volatility_50", "atr_14_pct"} <= set(volatile["drifted"]) and len(volatile["psi"]) == late["guard"]["columns"]
    text = runner.invoke(app, ["auc"]).stdout
    assert "Expiry" in text and "EXPIRED since" in text
