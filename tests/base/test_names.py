"""Honest names keep the old ones working: `rollback_auc_threshold` is `publish_floor_auc` now (nothing is
rolled back when a candidate is rejected), and every place an operator wrote the old name still works."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import load_settings

runner = CliRunner()
NOTE = "Setting 'rollback_auc_threshold' ({origin}) is now called 'publish_floor_auc'; the old name still works"


def test_the_old_floor_name_works_from_the_file_the_environment_and_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "autotrainer.toml").write_text("rollback_auc_threshold = 0.51\n", encoding="utf-8")
    assert load_settings(None, env={}, home=tmp_path).publish_floor_auc == 0.51
    assert load_settings(None, env={"AUTOTRAINER_ROLLBACK_AUC_THRESHOLD": "0.5"}).publish_floor_auc == 0.5
    assert load_settings(None, {"rollback_auc_threshold": 0.49}, env={}).publish_floor_auc == 0.49
    assert load_settings(None, env={"AUTOTRAINER_PUBLISH_FLOOR_AUC": "0.48"}).publish_floor_auc == 0.48


def test_the_old_name_is_noted_once_in_the_log_and_the_new_one_is_not(tmp_path: Path) -> None:
    old = runner.invoke(app, ["--home", str(tmp_path), "check"], env={"AUTOTRAINER_ROLLBACK_AUC_THRESHOLD": "0.5"})
    assert old.exit_code == 0, old.output
    notes = [line for line in old.output.splitlines() if "is now called 'publish_floor_auc'" in line]
    assert len(notes) == 1 and NOTE.format(origin="from environment variable AUTOTRAINER_ROLLBACK_AUC_THRESHOLD") in notes[0]
    new = runner.invoke(app, ["--home", str(tmp_path), "check"], env={"AUTOTRAINER_PUBLISH_FLOOR_AUC": "0.5"})
    assert new.exit_code == 0 and "is now called" not in new.output
