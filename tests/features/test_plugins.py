"""Operators' own features: the setting, the plugin contract, training with them, serving them, refusing leaks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import plugin_examples
import pytest
from conftest import PUBLISHABLE, recorded_runs
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings, load_settings
from autotrainer.errors import ConfigError
from autotrainer.features import compute_features
from autotrainer.features.plugins import FeatureSpec
from autotrainer.jobs.retrain import retrain
from autotrainer.models.inputs import feature_rows
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle

CAUSAL = "plugin_examples:causal_feature"
README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bars(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return sample_frame.iloc[-3000:].reset_index(drop=True)


# --- the setting ---------------------------------------------------------------------------------------

def test_features_setting_from_file_environment_and_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "list.toml"
    cfg.write_text('features = ["plugin_examples:causal_feature", "my_pkg.indicators:vwap_gap"]\n')
    assert load_settings(cfg, {}, env={}).features == (CAUSAL, "my_pkg.indicators:vwap_gap")
    cfg.write_text('features = "plugin_examples:causal_feature, my_pkg.indicators:vwap_gap"\nbuiltin_features = false\n')
    settings = load_settings(cfg, {}, env={})
    assert settings.features == (CAUSAL, "my_pkg.indicators:vwap_gap") and settings.builtin_features is False
    env = {"AUTOTRAINER_FEATURES": "a.b:c,d:e"}
    assert load_settings(None, {}, env=env).features == ("a.b:c", "d:e")
    assert load_settings(None, {"features": ""}, env=env).features == ()
    assert Settings().features == () and Settings().builtin_features is True


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AUTOTRAINER_FEATURES": "my_indicators"}, "'my_indicators' is not a 'package.module:function' name"),
        ({"AUTOTRAINER_FEATURES": "a:b, a:b"}, "lists a:b more than once"),
        ({"AUTOTRAINER_FEATURES": "a:b:c"}, "'a:b:c' is not a 'package.module:function' name"),
        ({"AUTOTRAINER_BUILTIN_FEATURES": "false"}, "'builtin_features' = false leaves the model no features"),
    ],
)
def test_bad_features_settings_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, {}, env=env)
    assert needle in str(err.value) and err.value.exit_code == 2


def test_a_non_list_in_the_file_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("features = 3\n")
    with pytest.raises(ConfigError, match=r"setting 'features' = 3 \(from .*bad.toml\) is not allowed: expected a list"):
        load_settings(cfg, {}, env={})


# --- the contract --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("function", "needle"),
    [
        ("raises", "failed on 3000 bars: ZeroDivisionError: my indicator divided by zero"),
        ("one_row_short", "returned 2999 rows for 3000 bars"),
        ("shuffled_index", "index is not the bars' index"),
        ("text_column", "returned non-numeric column(s): trend_label"),
        ("clashing_name", "already in use: rsi_14"),
        ("returns_series", "returned Series, not a pandas DataFrame"),
        ("infinite_values", "infinite values in column 'range_ratio' (3000 bars, first at"),
        ("not_a_function", "module 'plugin_examples' has no function 'not_a_function'"),
        ("no_such_function", "has no function 'no_such_function'"),
    ],
)
def test_a_plugin_breaking_the_contract_is_a_config_error_naming_it(bars: pd.DataFrame, function: str, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        FeatureSpec(plugins=(f"plugin_examples:{function}",)).compute(bars)
    assert f"feature plugin 'plugin_examples:{function}'" in str(err.value)
    assert needle in str(err.value) and err.value.exit_code == 2


def test_an_unimportable_module_is_a_config_error(bars: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match=r"feature plugin 'no_such_module:f' \(setting 'features'\): cannot import "
                                          r"module 'no_such_module': ModuleNotFoundError"):
        FeatureSpec(plugins=("no_such_module:f",)).compute(bars)


def test_two_plugins_may_not_claim_the_same_column(bars: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="'plugin_examples:future_return' returned column name.* already in use"):
        FeatureSpec(plugins=("plugin_examples:future_return", "plugin_examples:future_return")).compute(bars)


def test_plugin_columns_follow_the_builtins_as_float64(bars: pd.DataFrame) -> None:
    features = FeatureSpec(plugins=(CAUSAL, "plugin_examples:boolean_flag")).compute(bars)
    builtin = compute_features(bars)
    assert list(features.columns) == [*builtin.columns, "momentum_2", "dist_mean_200", "up_bar", "hour"]
    assert (features.dtypes == "float64").all()
    assert set(features["up_bar"].unique()) == {0.0, 1.0}
    pd.testing.assert_frame_equal(features[builtin.columns], builtin)


def test_a_plugin_cannot_change_the_bars_the_pipeline_uses(bars: pd.DataFrame) -> None:
    before = bars.copy()
    features = FeatureSpec(plugins=("plugin_examples:mutates_bars",)).compute(bars)
    pd.testing.assert_frame_equal(bars, before)
    pd.testing.assert_frame_equal(features.drop(columns="scribble"), compute_features(before))


def test_with_builtins_off_the_model_sees_only_plugin_columns(bars: pd.DataFrame) -> None:
    spec = FeatureSpec(builtin=False, plugins=(CAUSAL,))
    features = spec.compute(bars)
    assert list(features.columns) == ["ret_1", "volatility_20", "momentum_2", "dist_mean_200"]  # HMM inputs first
    assert spec.model_columns(list(features.columns)) == ["momentum_2", "dist_mean_200"]
    assert FeatureSpec.from_manifest(spec.to_manifest()) == spec
    assert FeatureSpec.from_manifest(None) == FeatureSpec()


# --- training and serving ------------------------------------------------------------------------------

def test_a_causal_plugin_trains_publishes_and_is_computed_by_the_live_helper(
    make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(**PUBLISHABLE, features=CAUSAL)
    outcome = retrain(settings, "initial")
    assert outcome.exit_code == 0 and outcome.published and "audit" in outcome.timings
    bundle = load_bundle(settings.models_dir)
    assert {k: bundle.manifest["feature_spec"][k] for k in ("builtin", "plugins")} == {"builtin": True, "plugins": [CAUSAL]}
    assert bundle.feature_spec == FeatureSpec(plugins=(CAUSAL,))
    assert {"momentum_2", "dist_mean_200"} <= set(bundle.features) == set(bundle.booster.feature_names)
    assert bundle.manifest["audit"]["columns"] == len(bundle.features) - len(bundle.regime.feature_names)

    live = sample_frame.iloc[-1000:].reset_index(drop=True)
    served = bundle.probabilities(live)
    assert served["p_up"].between(0, 1).all() and len(served) == 1000 - 100
    # The helper really computes the plugin: change what the plugin returns and the predictions move.
    real = plugin_examples.causal_feature
    monkeypatch.setattr(plugin_examples, "causal_feature", lambda b: real(b).assign(momentum_2=0.0, dist_mean_200=0.5))
    assert not np.allclose(bundle.probabilities(live)["p_up"], served["p_up"])


def test_with_builtins_off_a_plugin_alone_trains_and_serves(make_settings: Callable[..., Settings],
                                                            sample_frame: pd.DataFrame) -> None:
    settings = make_settings(**PUBLISHABLE, features=CAUSAL, builtin_features=False)
    outcome = retrain(settings, "initial")
    assert outcome.exit_code == 0 and outcome.published
    bundle = load_bundle(settings.models_dir)
    assert bundle.features == ["momentum_2", "dist_mean_200", *bundle.regime.feature_names]
    assert outcome.record.feature_count == 2 + len(bundle.regime.feature_names)
    assert bundle.probabilities(sample_frame.iloc[-700:].reset_index(drop=True))["p_up"].notna().all()


def test_a_manifest_without_a_feature_spec_is_served_with_builtins_only(
    published_pair: Settings, sample_frame: pd.DataFrame
) -> None:
    settings = published_pair
    bundle = load_bundle(settings.models_dir)
    del bundle.manifest["feature_spec"]  # as written before plugins existed
    live = sample_frame.iloc[-600:].reset_index(drop=True)
    expected = feature_rows(live)
    assert bundle.feature_spec == FeatureSpec() and len(bundle.probabilities(live)) == len(expected)


@pytest.mark.parametrize("plugin, columns", [
    ("order_block_at_formation", ["ob_formed", "ob_formed_top", "ob_formed_bottom"]),
    ("future_return", ["future_return"]),
])
def test_a_retrain_with_a_leaky_plugin_fails_publishes_nothing_and_records_why(
    make_settings: Callable[..., Settings], plugin: str, columns: list[str]
) -> None:
    first = retrain(make_settings(**PUBLISHABLE), "initial")
    settings = make_settings(**PUBLISHABLE, features=f"{CAUSAL},plugin_examples:{plugin}")
    before = snapshot(settings.models_dir)
    outcome = retrain(settings, "daily")
    record = outcome.record
    assert outcome.exit_code == 2 and not outcome.published
    assert record.status == "failed" and not record.success and not record.hmm_trained and not record.xgb_trained
    assert record.error_message.startswith("look-ahead audit failed")
    assert all(column in record.error_message for column in columns)
    assert "momentum_2" not in record.error_message  # the honest plugin is not blamed
    assert "audit" in outcome.timings and "regime" not in outcome.timings  # stopped before any fit
    assert snapshot(settings.models_dir) == before
    assert load_bundle(settings.models_dir).manifest["run_id"] == first.record.run_id
    stored = recorded_runs(settings.data_dir)[-1]
    assert (stored.run_id, stored.status, stored.error_message) == (record.run_id, "failed", record.error_message)


def test_a_failing_plugin_fails_the_retrain_with_its_name(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE, features="plugin_examples:raises")
    outcome = retrain(settings, "initial")
    assert outcome.exit_code == 2 and outcome.record.status == "failed"
    assert "feature plugin 'plugin_examples:raises' failed" in outcome.record.error_message
    assert store.read_manifest(settings.models_dir) is None


# --- the command and the README example ----------------------------------------------------------------

def test_cli_audit_lists_every_feature_and_exits_0_when_clean() -> None:
    result = runner.invoke(app, ["audit", "--bars", "3000"])
    assert result.exit_code == 0, result.output
    assert "Look-ahead audit of 77 features on 3,000 bars" in result.output
    rows = [line for line in result.output.splitlines() if re.match(r"^\w+\s+built-in\s+yes\s", line)]
    assert len(rows) == 77
    assert result.output.splitlines()[-1].startswith("CLEAN: 77 features causal")


def test_cli_audit_names_the_leaks_first_and_exits_2() -> None:
    result = runner.invoke(app, ["audit", "--bars", "3000", "--features", f"{CAUSAL},plugin_examples:centred_mean"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    first_row = next(i for i, line in enumerate(lines) if line.startswith("feature ")) + 1  # the header may wrap
    assert re.match(r"^centred_mean_21\s+plugin_examples:centred_mean\s+NO\s.*at least 10 ahead", lines[first_row])
    assert re.search(r"^momentum_2\s+plugin_examples:causal_feature\s+yes", result.output, re.MULTILINE)
    verdict = next(i for i, line in enumerate(lines) if line.startswith("LEAK: "))  # wrapped at the width
    assert lines[verdict].startswith("LEAK: look-ahead audit failed: feature(s) that use future bars: centred_mean_21")
    assert all(line.startswith("  ") for line in lines[verdict + 1:])


def test_cli_audit_json_and_errors() -> None:
    result = runner.invoke(app, ["audit", "--bars", "3000", "--json", "--features", "plugin_examples:future_return"])
    data = json.loads(result.stdout)
    assert result.exit_code == 2 and data["clean"] is False
    assert [c["name"] for c in data["columns"] if c["label_leak"]] == ["future_return"]
    result = runner.invoke(app, ["audit", "--features", "plugin_examples:text_column"])
    assert result.exit_code == 2 and "error: feature plugin 'plugin_examples:text_column' returned non-numeric" in result.output


def test_the_readme_example_indicator_is_causal_and_audited_from_the_working_directory(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    code = re.search(r"```python\n(# my_indicators\.py.*?)```", text, re.DOTALL).group(1)
    (tmp_path / "my_indicators.py").write_text(code)
    toml = re.search(r"```toml\n(features = .*?)```", text, re.DOTALL).group(1)
    (tmp_path / "autotrainer.toml").write_text(toml)
    result = runner.invoke(app, ["audit", "--bars", "3000"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^sma200_atr_gap\s+my_indicators:sma200_atr_gap\s+yes\s", result.output, re.MULTILINE)


def test_an_edited_plugin_is_noticed_when_the_bot_loads_the_model(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    from autotrainer.features.plugins import source_fingerprint
    from autotrainer.live import ModelWatcher

    settings = make_settings(**PUBLISHABLE, features=CAUSAL)
    assert retrain(settings, "initial").published
    manifest = store.read_manifest(settings.models_dir)
    recorded = manifest["feature_spec"]["plugin_sources"]
    assert recorded == {CAUSAL: source_fingerprint(CAUSAL)} and len(recorded[CAUSAL]) == 64
    spec = FeatureSpec.from_manifest(manifest["feature_spec"])
    assert spec.changed_plugins(manifest["feature_spec"]) == []
    # The operator edits the function after training: the recorded fingerprint no longer matches.
    manifest["feature_spec"]["plugin_sources"][CAUSAL] = "0" * 64
    assert spec.changed_plugins(manifest["feature_spec"]) == [CAUSAL]
    (settings.models_dir / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    with caplog.at_level("WARNING", logger="autotrainer.live"):
        assert ModelWatcher(settings.models_dir).poll() is not None
    assert f"Feature plugin {CAUSAL} has changed since model" in caplog.text
