"""The edge after costs, wired in wherever the AUC shows: retrain (log, --json, record, manifest), auc and
auc --live, check and history; 'auto' thresholds chosen on the validation slice only; the floor and edge rules
deciding publication. All on the real bundled bars."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from conftest import PUBLISHABLE, recorded_runs, write_bars
from typer.testing import CliRunner

from autotrainer import edge as edge_module
from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store

runner = CliRunner()
EDGE_FIELDS = ("edge_verdict", "edge_mean", "edge_low", "edge_high", "edge_signals", "edge_profit_factor",
               "edge_total", "edge_always_long_mean", "edge_point", "edge_point_source", "edge_spread_source")
VERDICTS = (edge_module.EDGE_DEMONSTRATED, edge_module.LOSING, edge_module.NO_EVIDENCE, edge_module.NO_SIGNALS)


def config_file(home: Path, **values: Any) -> None:
    (home / "autotrainer.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def test_retrain_json_record_manifest_check_auc_and_history_carry_the_edge(tmp_path: Path) -> None:
    config_file(tmp_path, **PUBLISHABLE, source="sample", confidence_threshold=0.5)
    result = runner.invoke(app, ["retrain", "--json"])
    assert result.exit_code == 0, result.output
    run = json.loads(result.stdout)
    assert all(name in run for name in EDGE_FIELDS) and run["edge_verdict"] in VERDICTS
    assert run["edge_signals"] > 100 and run["edge_low"] <= run["edge_mean"] <= run["edge_high"]  # 0.5: every bar acts
    assert run["edge_point"] == 0.01 and run["edge_point_source"] == "the prices' decimals (2)"
    assert run["edge_spread_source"] == "the bars' spread column" and run["confidence_threshold"] == 0.5
    assert run["threshold_choice"] == {"rule": "fixed", "threshold": 0.5}
    [record] = recorded_runs(tmp_path / "data")
    assert (record.edge_verdict, record.edge_signals, record.edge_mean) == (run["edge_verdict"], run["edge_signals"],
                                                                           run["edge_mean"])
    assert "point from the prices' decimals (2); spread from the bars' spread column" == record.edge_cost_source
    manifest = store.read_manifest(tmp_path / "models")
    assert manifest["metrics"]["edge"]["edge_verdict"] == run["edge_verdict"] and manifest["confidence_threshold"] == 0.5

    check = json.loads(runner.invoke(app, ["check", "--json"]).stdout)["active_model"]
    assert check["run_id"] == run["run_id"] and check["edge_verdict"] == run["edge_verdict"]
    assert check["edge_mean"] == run["edge_mean"]
    assert run["edge_verdict"] in runner.invoke(app, ["check"]).output

    auc = json.loads(runner.invoke(app, ["auc", "--json"]).stdout)
    assert auc["edge_source"] == "test" and auc["test_edge"]["edge_verdict"] == run["edge_verdict"]
    assert all(auc[name] == run[name] for name in ("edge_verdict", "edge_mean", "edge_low", "edge_high"))
    assert "Edge after costs (test)" in runner.invoke(app, ["auc"], env={"COLUMNS": "200"}).output

    word = {edge_module.EDGE_DEMONSTRATED: "edge", edge_module.LOSING: "losing",
            edge_module.NO_EVIDENCE: "no evidence"}[run["edge_verdict"]]
    for columns in (80, 120, 190):
        shown = runner.invoke(app, ["history"], env={"COLUMNS": str(columns)}, terminal_width=columns).output
        assert f"{word} {run['edge_mean']:+.3f}" in shown
        assert ("Edge/signal" in shown) == (columns >= 190)
        assert max(len(line) for line in shown.splitlines()) <= columns


def test_auc_live_measures_the_edge_of_the_bars_since_training(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    trained = write_bars(sample_frame.iloc[:4000], tmp_path / "XAUUSD_M15_train.csv")
    later = write_bars(sample_frame.iloc[:4600], tmp_path / "XAUUSD_M15_later.csv")
    config_file(tmp_path, **PUBLISHABLE, confidence_threshold=0.5, min_live_bars=200)
    assert runner.invoke(app, ["retrain", "--source", str(trained)]).exit_code == 0
    live = json.loads(runner.invoke(app, ["auc", "--live", "--json", "--source", str(later)]).stdout)
    assert live["edge_source"] == "live" and live["edge_verdict"] in VERDICTS
    assert 500 < live["edge_bars"] < 600 and live["edge_signals"] == live["edge_bars"]  # 0.5: every bar acts
    assert live["test_edge"]["edge_bars"] != live["edge_bars"]  # the test slice's stays beside it


def test_auto_threshold_is_chosen_on_validation_rows_only_and_published(make_settings: Callable[..., Settings],
                                                                        sample_frame: pd.DataFrame,
                                                                        monkeypatch: Any) -> None:
    seen: list[np.ndarray] = []
    real = edge_module.choose_threshold

    def recording(close: np.ndarray, spread: np.ndarray, p_up: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        seen.append(np.flatnonzero(~np.isnan(p_up)))  # the bars it was given a prediction for
        return real(close, spread, p_up, *args, **kwargs)

    monkeypatch.setattr(edge_module, "choose_threshold", recording)
    settings = make_settings(**PUBLISHABLE, confidence_threshold="auto", min_signals=5)
    outcome = retrain(settings, "initial")
    assert outcome.published, outcome.record.error_message
    [rows] = seen
    bars = sample_frame.iloc[-PUBLISHABLE["initial_bars"]:].reset_index(drop=True)
    test_start = int(np.flatnonzero(bars["time"] == pd.Timestamp(outcome.candidate.manifest["data"]["test_start"]))[0])
    assert len(rows) == outcome.split["validation"] and rows.max() - rows.min() + 1 == len(rows)  # validation only
    assert rows.max() < test_start  # not one test row reached the choice
    manifest = store.read_manifest(settings.models_dir)
    choice = manifest["metrics"]["edge"]["threshold_choice"]
    assert choice["rule"] == "auto" and choice["slice"] == "validation" and choice["chosen"]
    assert manifest["confidence_threshold"] in edge_module.THRESHOLD_GRID
    assert manifest["confidence_threshold"] == choice["threshold"] == outcome.record.confidence_threshold
    assert manifest["metrics"]["edge"]["edge_threshold"] == manifest["confidence_threshold"]
    assert manifest["metrics"]["signals"]["signal_threshold"] == manifest["confidence_threshold"]


def _first_test_auc(make_settings: Callable[..., Settings], tmp_path: Path) -> Any:
    settings = make_settings(**PUBLISHABLE, models_dir=tmp_path / "probe" / "models",
                             data_dir=tmp_path / "probe" / "data")
    return retrain(settings, "initial").record


def test_floor_rule_evidence_publishes_what_point_rejects(make_settings: Callable[..., Settings],
                                                          tmp_path: Path) -> None:
    probe = _first_test_auc(make_settings, tmp_path)
    floor = round((probe.test_auc + probe.test_auc_high) / 2, 4)  # above the point, inside the interval
    outcomes = {}
    for rule in ("point", "evidence"):
        settings = make_settings(**{**PUBLISHABLE, "publish_floor_auc": floor, "min_auc_threshold": 0.65,
                                    "floor_rule": rule},
                                 models_dir=tmp_path / rule / "models", data_dir=tmp_path / rule / "data")
        outcomes[rule] = retrain(settings, "initial")
    assert outcomes["point"].record.test_auc == probe.test_auc  # the same candidate both times
    assert not outcomes["point"].published and "below the floor" in outcomes["point"].record.error_message
    assert outcomes["evidence"].published and outcomes["evidence"].record.status == "warning"
    assert not (tmp_path / "point" / "models" / store.MANIFEST).exists()


def test_edge_rule_no_loss_rejects_a_candidate_losing_after_costs(make_settings: Callable[..., Settings],
                                                                   sample_frame: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    costly = sample_frame.iloc[-3000:].copy()
    costly["spread"] = 100_000  # 1,000 dollars a trade at a point of 0.01: more than any M15 move
    path = write_bars(costly, tmp_path / "XAUUSD_M15_costly.csv")
    outcomes = {}
    for rule in ("off", "no_loss"):
        settings = make_settings(**{**PUBLISHABLE, "edge_rule": rule, "confidence_threshold": 0.5},
                                 source=str(path), models_dir=tmp_path / rule / "models",
                                 data_dir=tmp_path / rule / "data")
        outcomes[rule] = retrain(settings, "initial")
    for outcome in outcomes.values():
        assert outcome.record.edge_verdict == edge_module.LOSING and outcome.record.edge_high < 0
    assert outcomes["off"].published
    rejected = outcomes["no_loss"]
    assert not rejected.published and rejected.exit_code == 3
    assert "losing after costs" in rejected.record.error_message
    assert "setting 'edge_rule' = 'no_loss'" in rejected.record.error_message
    assert not (tmp_path / "no_loss" / "models" / store.MANIFEST).exists()


def test_auto_without_enough_validation_signals_keeps_the_default_and_warns(
        make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE, confidence_threshold="auto", min_signals=1_000_000)
    outcome = retrain(settings, "initial")
    assert outcome.published and outcome.record.confidence_threshold == 0.6
    assert store.read_manifest(settings.models_dir)["confidence_threshold"] == 0.6
    assert any(w.startswith("confidence_threshold 'auto': no threshold of") for w in outcome.record.warnings)
