"""Retrains that cannot change anything are not run (issue 17, section 4): same bars, settings and code as
the last trained run -> skipped with the reason and the exit code of a skip; --force, a changed setting or one
more bar trains."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pandas as pd
from conftest import PUBLISHABLE as REPEATING, recorded_runs, write_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store

PUBLISHABLE = {**REPEATING, "skip_unchanged": True}  # the shared settings switch the skip off for other tests

runner = CliRunner()


def _toml(path: Path, source: Path) -> None:
    lines = [f"{k} = {json.dumps(v) if not isinstance(v, bool) else str(v).lower()}" for k, v in PUBLISHABLE.items()]
    path.write_text("\n".join(lines + [f"source = {json.dumps(str(source))}"]) + "\n")


def test_second_retrain_on_the_same_file_is_skipped_and_force_trains(sample_frame: pd.DataFrame,
                                                                     tmp_path: Path) -> None:
    source = write_bars(sample_frame.iloc[:4000], tmp_path / "bars.csv")
    _toml(tmp_path / "autotrainer.toml", source)
    first = runner.invoke(app, ["retrain", "--json"])
    assert first.exit_code == 0, first.output
    published = store.read_manifest(tmp_path / "models")
    second = runner.invoke(app, ["retrain", "--json"])
    assert second.exit_code == 4, second.output
    runs = recorded_runs(tmp_path / "data")
    assert [r.status for r in runs] == ["success", "skipped"]
    assert f"are those of run {runs[0].run_id} (published)" in runs[1].error_message
    assert "byte-identical" in runs[1].error_message and "--force" in runs[1].error_message
    assert runs[1].recipe_digest == runs[0].recipe_digest == published["recipe_digest"]
    assert store.read_manifest(tmp_path / "models") == published  # nothing trained, nothing published
    forced = runner.invoke(app, ["retrain", "--force", "--json"])
    assert forced.exit_code == 0, forced.output
    again = store.read_manifest(tmp_path / "models")
    assert again["run_id"] != published["run_id"]
    assert again["files"]["xgboost"]["sha256"] == published["files"]["xgboost"]["sha256"]  # byte-identical


def test_a_changed_setting_or_one_more_bar_trains(make_settings: Callable[..., Settings], sample_frame: pd.DataFrame,
                                                  tmp_path: Path) -> None:
    source = write_bars(sample_frame.iloc[:4000], tmp_path / "bars.csv")
    settings = make_settings(**PUBLISHABLE, source=str(source))
    assert retrain(settings, "daily").record.status == "success"
    # where things are kept or when runs are due cannot change the model: still skipped
    assert retrain(make_settings(**PUBLISHABLE, source=str(source), backups_kept=2), "daily").exit_code == 4
    # the same bars and rounds under another training type are the same model too
    assert retrain(settings, "initial", trigger="schedule").record.status == "skipped"
    changed = retrain(make_settings(**PUBLISHABLE, source=str(source), xgb_max_depth=3), "daily")
    assert changed.record.status == "success"
    write_bars(sample_frame.iloc[:4001], source)  # one more bar closed
    newer = retrain(make_settings(**PUBLISHABLE, source=str(source), xgb_max_depth=3), "daily")
    assert newer.record.status == "success" and newer.record.data_fingerprint != changed.record.data_fingerprint
    assert [r.status for r in recorded_runs(settings.data_dir)] == ["success", "skipped", "skipped", "success",
                                                                     "success"]


def test_switched_off_it_trains_again(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**{**PUBLISHABLE, "skip_unchanged": False}, source="sample")
    retrain(settings, "daily")
    assert retrain(settings, "daily").record.status == "success"
