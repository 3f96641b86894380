"""`autotrainer auc`: the active model's numbers, a live AUC on bars after its training data, exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd
from conftest import PUBLISHABLE, learnable_bars, write_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.history.service import History
from autotrainer.jobs.monitor import measure
from autotrainer.jobs.retrain import retrain
from autotrainer.schedule import state as scheduler_state

runner = CliRunner()


def config_file(tmp_path: Path, **values: object) -> None:
    lines = [f'{k} = {json.dumps(str(v) if isinstance(v, Path) else v)}' for k, v in values.items()]
    (tmp_path / "autotrainer.toml").write_text("\n".join(lines) + "\n")


def test_live_auc_on_bars_after_the_training_range_is_a_number_and_recorded(
    make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    early = write_bars(sample_frame.iloc[:11_000], tmp_path / "early.csv")
    trained = retrain(make_settings(**PUBLISHABLE, source=str(early)), "initial")
    assert trained.published
    config_file(tmp_path, **{**PUBLISHABLE, "source": "sample", "daily_bars": 8000})  # the bot's source has newer bars
    result = runner.invoke(app, ["auc", "--live", "--json"])
    data = json.loads(result.stdout)
    live = data["live_taken_now"]
    assert live["auc"] is not None and 0.3 < live["auc"] < 0.7
    assert live["bars_scored"] > 3000 and live["auc_low"] < live["auc"] < live["auc_high"]
    assert pd.Timestamp(live["data_start"]) > pd.Timestamp(data["data"]["end"])  # only bars after training
    assert data["current_source"] == "live" and data["current_auc"] == live["auc"]
    expected = {"OK": 0, "WARNING": 6, "BELOW FLOOR": 7}[data["status"]]
    assert result.exit_code == expected
    settings = make_settings(**PUBLISHABLE)
    assert History(settings).latest_auc_check(data["run_id"]).auc == live["auc"]
    # The measurement feeds the scheduler's emergency rule.
    assert scheduler_state.load(settings).model.live_auc == live["auc"]
    text = runner.invoke(app, ["auc"]).stdout
    assert "Newest live AUC" in text and f"{live['auc']:.4f}" in text and "Emergency retrain" in text


def test_not_enough_new_bars_gives_no_number(published_pair: Settings, tmp_path: Path) -> None:
    settings = published_pair  # trained on the newest sample bars: nothing has closed since
    result = measure(settings, live=True)
    assert result.taken_now.auc is None and result.taken_now.bars_scored == 0
    assert result.current_source == "test" and result.latest is None
    config_file(tmp_path, **PUBLISHABLE)
    text = runner.invoke(app, ["auc", "--live"]).stdout
    assert "not enough new bars yet (0 scored after the training data, need 200)" in text


def test_exit_codes_follow_the_thresholds_the_model_was_published_under(
        make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path) -> None:
    source = write_bars(learnable_bars(sample_frame.iloc[-4000:].reset_index(drop=True)), tmp_path / "p.csv")
    retrain(make_settings(**{**PUBLISHABLE, "min_auc_threshold": 0.99}, source=str(source)), "initial", bars=4000)
    for thresholds, today in (({}, "OK"), ({"min_auc_threshold": 0.99}, "WARNING"),
                              ({"min_auc_threshold": 0.99, "publish_floor_auc": 0.98}, "BELOW FLOOR")):
        config_file(tmp_path, **{**PUBLISHABLE, "min_auc_threshold": 0.65, "publish_floor_auc": 0.52, **thresholds})
        result = runner.invoke(app, ["auc", "--json"])
        data = json.loads(result.stdout)  # test AUC ~0.86: published WARNING under a 0.99 target
        assert result.exit_code == 6 and data["status"] == "WARNING" and data["status_today"] == today
        assert data["thresholds"]["min_auc_threshold"] == 0.99 and data["thresholds"]["floor"] == 0.0


def test_no_published_model_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["auc"])
    assert result.exit_code == 2 and "no published model" in result.output
