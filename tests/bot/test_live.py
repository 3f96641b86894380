"""The live bot's API: a watcher that never hands out a torn pair, and predictions that match training."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from conftest import PUBLISHABLE

from autotrainer.config import Settings
from autotrainer.features import FEATURE_MEMORY_BARS, compute_features
from autotrainer.jobs.retrain import retrain
from autotrainer.live import ModelWatcher, bars_from_rates, min_bars, predict_latest
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle


def test_watcher_returns_a_bundle_only_when_the_manifest_changes(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE, champion_tolerance=0.5)
    watcher = ModelWatcher(settings.models_dir)
    assert watcher.poll() is None  # nothing published yet
    first = retrain(settings, "initial").record
    bundle = watcher.poll()
    assert bundle is not None and bundle.manifest["run_id"] == first.run_id
    assert watcher.poll() is None and watcher.poll() is None
    second = retrain(settings, "daily", bars=2500).record
    assert watcher.poll().manifest["run_id"] == second.run_id


def test_prediction_matches_training_from_the_bots_window(published_pair: Settings,
                                                          sample_frame: pd.DataFrame) -> None:
    settings = published_pair
    bundle = load_bundle(settings.models_dir)
    full = bundle.probabilities(sample_frame)  # what training computes over a long history
    assert min_bars(bundle) == FEATURE_MEMORY_BARS
    for end in (3_000, 9_876, 15_000):
        signal = predict_latest(bundle, sample_frame.iloc[:end].iloc[-min_bars(bundle):])
        reference = full.loc[end - 1]
        assert signal.time == reference["time"]
        assert signal.p_up == pytest.approx(float(reference["p_up"]), abs=1e-6)
        for name in ("low", "medium", "high"):
            assert signal.regime_probabilities[name] == pytest.approx(float(reference[f"regime_p_{name}"]), abs=1e-6)
        assert signal.regime in ("low", "medium", "high") and signal.action in ("BUY", "SELL", "HOLD")
    with pytest.raises(ValueError, match="needs at least 1200"):
        predict_latest(bundle, sample_frame.iloc[-800:])


def test_the_bots_own_mt5_rates_predict_like_training(published_pair: Settings,
                                                       sample_frame: pd.DataFrame) -> None:
    from mt5_standin import rates_from_bars

    settings = published_pair
    bundle = load_bundle(settings.models_dir)
    recent = sample_frame.iloc[-min_bars(bundle):].reset_index(drop=True)
    bars = bars_from_rates(rates_from_bars(recent, "Europe/Athens"), "Europe/Athens")  # as copy_rates_* returns
    pd.testing.assert_frame_equal(bars, recent)
    assert predict_latest(bundle, bars) == predict_latest(bundle, recent)


def test_features_forget_where_the_series_starts_after_the_memory_window(sample_frame: pd.DataFrame) -> None:
    full = compute_features(sample_frame).to_numpy()
    rng = np.random.default_rng(1)
    for end in rng.integers(FEATURE_MEMORY_BARS + 100, len(sample_frame), 25):
        window = compute_features(sample_frame.iloc[end - FEATURE_MEMORY_BARS: end].reset_index(drop=True)).to_numpy()
        np.testing.assert_allclose(window[-1], full[end - 1], rtol=1e-7, atol=1e-9, equal_nan=True)


# Publishes (by rolling the two pairs back and forth) a given number of times, however long that takes: a
# loaded machine makes the test slower, never wrong.
PUBLISHER = """
import sys
from autotrainer.config import load_settings
from autotrainer.jobs.rollback import rollback
settings = load_settings(None, {"models_dir": sys.argv[1], "data_dir": sys.argv[2]}, env={})
for _ in range(int(sys.argv[3])):
    rollback(settings, "publish loop")
print(sys.argv[3])
"""
PUBLISHES = 12


def test_watcher_never_yields_a_torn_pair_while_another_process_publishes(
    two_published_pairs: Settings, sample_frame: pd.DataFrame
) -> None:
    settings = two_published_pairs
    bars = sample_frame.iloc[-FEATURE_MEMORY_BARS:].reset_index(drop=True)
    expected = {}
    for _ in range(2):  # each rollback swaps the two pairs: learn what each run's pair predicts
        bundle = load_bundle(settings.models_dir)
        expected[bundle.manifest["run_id"]] = predict_latest(bundle, bars)
        subprocess.run([sys.executable, "-c", PUBLISHER, str(settings.models_dir), str(settings.data_dir), "1"],
                       check=True, capture_output=True)
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(settings.models_dir), str(settings.data_dir),
                                  str(PUBLISHES)], stdout=subprocess.PIPE, text=True)
    watcher, seen, polls = ModelWatcher(settings.models_dir), [], 0
    while publisher.poll() is None:
        polls += 1
        bundle = watcher.poll()
        if bundle is None:
            continue
        run_id = bundle.manifest["run_id"]
        for role, entry in bundle.manifest["files"].items():  # the bytes handed out are the manifest's
            assert hashlib.sha256(bundle.raw[role]).hexdigest() == entry["sha256"]
        signal = predict_latest(bundle, bars)  # and the two models belong together
        assert (signal.p_up, signal.regime_probabilities) == (expected[run_id].p_up, expected[run_id].regime_probabilities)
        seen.append(run_id)
    assert int(publisher.communicate()[0]) == PUBLISHES and publisher.returncode == 0
    assert len(seen) >= 3 and set(seen) == set(expected)
    assert polls > len(seen)


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "autotrainer.live" and r.levelname == "WARNING"]


def test_poll_never_raises_on_a_plugin_the_bot_cannot_import_and_picks_it_up_once_it_can(
    published_pair: Settings, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    import importlib

    settings = published_pair
    manifest = store.read_manifest(settings.models_dir)
    plugin = "bots_own_indicators:momentum"  # recorded at training time, not installed on the bot's machine
    manifest["feature_spec"] = {"builtin": True, "plugins": [plugin], "plugin_sources": {plugin: "0" * 64}}
    (settings.models_dir / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    watcher = ModelWatcher(settings.models_dir)
    with caplog.at_level("DEBUG", logger="autotrainer.live"):
        assert [watcher.poll() for _ in range(5)] == [None] * 5
        (problem,) = warnings_in(caplog)  # once, however often the bot polls
        assert plugin in problem and "cannot import module 'bots_own_indicators'" in problem
        (tmp_path / "bots_own_indicators.py").write_text("def momentum(bars):\n    return bars[['close']].pct_change()\n")
        importlib.invalidate_caches()  # the operator installed the module while the bot runs
        bundle = watcher.poll()
    assert bundle is not None and bundle.manifest["run_id"] == manifest["run_id"]
    assert watcher.poll() is None


def test_a_pair_that_never_verifies_is_a_warning_once_it_persists_and_only_once(
    published_pair: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = published_pair
    manifest = store.read_manifest(settings.models_dir)
    (settings.models_dir / manifest["files"]["hmm"]["name"]).write_text("{}")  # damaged, not a publish in progress
    with caplog.at_level("DEBUG", logger="autotrainer.live"):
        patient = ModelWatcher(settings.models_dir, patience_polls=3, patience_seconds=3600)
        assert all(patient.poll() is None for _ in range(10))
        assert warnings_in(caplog) == []  # still within its patience: could be a publish in progress
        watcher = ModelWatcher(settings.models_dir, patience_polls=3, patience_seconds=0)
        assert [watcher.poll() for _ in range(2)] == [None, None] and warnings_in(caplog) == []
        assert all(watcher.poll() is None for _ in range(10))
    (problem,) = warnings_in(caplog)
    assert f"model {manifest['run_id']} does not verify" in problem and "hmm_regime-" in problem


def test_no_model_published_is_a_warning_once_it_persists(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    watcher = ModelWatcher(tmp_path / "models", patience_polls=3, patience_seconds=0)
    with caplog.at_level("DEBUG", logger="autotrainer.live"):
        assert all(watcher.poll() is None for _ in range(6))
    (problem,) = warnings_in(caplog)
    assert "no model published" in problem and "manifest.json" in problem


def test_a_pair_for_another_instrument_is_refused(make_settings: Callable[..., Settings],
                                                  caplog: pytest.LogCaptureFixture) -> None:
    settings = make_settings(**PUBLISHABLE)
    run_id = retrain(settings, "initial").record.run_id
    with caplog.at_level("WARNING", logger="autotrainer.live"):
        assert ModelWatcher(settings.models_dir, symbol="XAUUSDm", timeframe="M15").poll() is None
        assert ModelWatcher(settings.models_dir, symbol="XAUUSD", timeframe="H1").poll() is None
    assert len(warnings_in(caplog)) == 2
    assert "trained for XAUUSD M15, but this watcher expects XAUUSDm M15" in warnings_in(caplog)[0]
    assert ModelWatcher(settings.models_dir, symbol="XAUUSD", timeframe="m15").poll().manifest["run_id"] == run_id


def test_bars_from_rates_uses_the_clock_the_model_was_trained_with(published_pair: Settings,
                                                                   sample_frame: pd.DataFrame) -> None:
    from dataclasses import replace

    from mt5_standin import rates_from_bars

    settings = published_pair
    bundle = load_bundle(settings.models_dir)
    assert bundle.manifest["settings"]["server_timezone"] == "Europe/Athens"
    recent = sample_frame.iloc[-min_bars(bundle):].reset_index(drop=True)
    rates = rates_from_bars(recent, "Europe/Athens")
    pd.testing.assert_frame_equal(bars_from_rates(rates, bundle=bundle), recent)
    with pytest.raises(ValueError, match="contradicts model .* trained with server_timezone 'Europe/Athens'"):
        bars_from_rates(rates, server_timezone="UTC", bundle=bundle)
    on_utc = replace(bundle, manifest={**bundle.manifest, "settings": {**bundle.manifest["settings"],
                                                                       "server_timezone": "UTC"}})
    shifted = bars_from_rates(rates_from_bars(recent, "UTC"), bundle=on_utc)
    pd.testing.assert_frame_equal(shifted, recent)


def test_the_bots_functions_raise_only_value_error_for_input_they_cannot_use(
    published_pair: Settings, sample_frame: pd.DataFrame
) -> None:
    from dataclasses import replace

    settings = published_pair
    bundle = load_bundle(settings.models_dir)
    with pytest.raises(ValueError, match="no 'time' field"):
        bars_from_rates(None, bundle=bundle)  # what copy_rates_* returns when the terminal has no bars
    failing = replace(bundle, manifest={**bundle.manifest,
                                        "feature_spec": {"builtin": True, "plugins": ["plugin_examples:raises"]}})
    with pytest.raises(ValueError, match="feature plugin 'plugin_examples:raises' failed"):
        predict_latest(failing, sample_frame.iloc[-min_bars(bundle):].reset_index(drop=True))
