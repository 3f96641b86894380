"""The command line's contract with operators and their scripts: where state lives, looking creates nothing,
--json is always JSON with one vocabulary, and every command's help lists its exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pytest
from conftest import PUBLISHABLE
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings, load_settings

runner = CliRunner()
ENV = {f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()}


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_relative_paths_in_a_config_file_resolve_against_the_file(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "bot.toml"
    config.parent.mkdir()
    config.write_text('models_dir = "models"\ndata_dir = "../state"\nsource = "exports/bars.csv"\n'
                      'log_file = "logs/at.log"\n')
    elsewhere = tmp_path / "somewhere"
    elsewhere.mkdir()
    os.chdir(elsewhere)
    settings = load_settings(config, env={})
    assert settings.models_dir == tmp_path / "etc" / "models"
    assert settings.data_dir == tmp_path / "etc" / ".." / "state"
    assert settings.source == str(tmp_path / "etc" / "exports" / "bars.csv")
    assert settings.log_file == str(tmp_path / "etc" / "logs" / "at.log")
    # A path typed on the command line means the current directory; a source name stays a name.
    typed = load_settings(config, {"source": "mine.csv"}, env={})
    assert typed.source == str(elsewhere / "mine.csv")
    assert load_settings(config, {"source": "sample"}, env={}).source == "sample"


def test_the_home_folder_holds_the_state_and_its_config(tmp_path: Path) -> None:
    home = tmp_path / "bot"
    home.mkdir()
    (home / "autotrainer.toml").write_text("min_bars = 1234\n")
    os.chdir(tmp_path)
    from_env = load_settings(env={"AUTOTRAINER_HOME": str(home), "AUTOTRAINER_DATA_DIR": "state"})
    assert from_env.home == home and from_env.min_bars == 1234
    assert from_env.models_dir == home / "models" and from_env.data_dir == home / "state"
    assert from_env.log_file == str(home / "logs" / "autotrainer.log")
    other = tmp_path / "other"
    other.mkdir()
    assert load_settings(env={"AUTOTRAINER_HOME": str(home)}, home=other).models_dir == other / "models"
    with pytest.raises(Exception, match="is not a folder"):
        load_settings(env={"AUTOTRAINER_HOME": str(tmp_path / "missing")})
    result = runner.invoke(app, ["--home", str(home), "check"], env=ENV)
    assert result.exit_code == 0 and f"Home: {home}" in result.output
    checked = json.loads(runner.invoke(app, ["check", "--json"], env={**ENV, "AUTOTRAINER_HOME": str(home)}).stdout)
    assert checked["home"] == str(home) and checked["models_dir"] == str(home / "models")


READ_ONLY = [["check"], ["check", "--json"], ["history"], ["history", "--json"], ["history", "--csv"],
             ["rollback", "--list"], ["rollback", "--list", "--json"], ["auc"], ["auc", "--json"],
             ["bars"], ["audit", "--bars", "1200"], ["retrain", "--help"]]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a) for a in READ_ONLY])
def test_looking_creates_nothing(args: list[str], tmp_path: Path) -> None:
    runner.invoke(app, args, env=ENV)
    assert files_under(tmp_path) == []


@pytest.mark.usefixtures("published_pair")
def test_looking_at_a_working_folder_adds_nothing_to_it(tmp_path: Path) -> None:
    before = set(files_under(tmp_path))
    state = (tmp_path / "data" / "scheduler-state.json").read_bytes()
    for args in READ_ONLY:
        runner.invoke(app, args, env=ENV)
    assert sorted(set(files_under(tmp_path)) - before) == []  # the log's folder exists: it may grow, not multiply
    assert (tmp_path / "data" / "scheduler-state.json").read_bytes() == state


def test_json_errors_are_json_on_stdout(tmp_path: Path) -> None:
    nothing = runner.invoke(app, ["auc", "--json"], env=ENV)
    assert nothing.exit_code == 2
    assert json.loads(nothing.stdout) == {"error": f"no published model in {tmp_path / 'models'} (no manifest.json)",
                                          "exit_code": 2}
    bad = runner.invoke(app, ["retrain", "--json"], env={**ENV, "AUTOTRAINER_DAILY_BARS": "lots"})
    assert bad.exit_code == 2 and "daily_bars" in json.loads(bad.stdout)["error"]
    since = runner.invoke(app, ["history", "--json", "--since", "last week"], env=ENV)
    assert since.exit_code == 2 and json.loads(since.stdout)["exit_code"] == 2


@pytest.mark.usefixtures("published_pair")
def test_one_status_word_and_one_interval_name_for_scripts(make_settings: Callable[..., Settings]) -> None:
    floor = {**ENV, "AUTOTRAINER_PUBLISH_FLOOR_AUC": "0.64", "AUTOTRAINER_MIN_AUC_THRESHOLD": "0.65"}
    rejected = runner.invoke(app, ["retrain", "--type", "daily", "--json"], env=floor)
    record = json.loads(rejected.stdout)
    assert rejected.exit_code == 3 and record["status"] == "rejected"
    assert record["test_auc_low"] <= record["test_auc"] <= record["test_auc_high"]
    history = json.loads(runner.invoke(app, ["history", "--json", "--status", "rejected"], env=ENV).stdout)
    runs = [i for i in history["items"] if i["entry"] == "run"]
    assert [r["run_id"] for r in runs] == [record["run_id"]] and runs[0]["status"] == "rejected"
    auc = json.loads(runner.invoke(app, ["auc", "--json"], env=ENV).stdout)
    assert auc["test_auc_low"] <= auc["test_auc"] <= auc["test_auc_high"]
    assert "ci95" not in json.dumps(auc) + json.dumps(record) + json.dumps(history)
    # The database column keeps the seed's value, for the original bot's readers.
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{make_settings().data_dir / 'autotrainer.db'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT status FROM training_runs WHERE run_id = :r"), {"r": record["run_id"]})
        assert stored.scalar() == "rolled_back"
    engine.dispose()


def test_check_run_json_carries_the_runs_result() -> None:
    result = runner.invoke(app, ["check", "--run", "--json"], env=ENV)
    data = json.loads(result.stdout)
    assert data["due"] and data["training_type"] == "initial"
    assert data["run"]["status"] in ("success", "warning") and data["run"]["published"]
    assert data["exit_code"] == result.exit_code == 0
    quiet = json.loads(runner.invoke(app, ["check", "--run", "--json"], env=ENV).stdout)
    assert not quiet["due"] and quiet["run"] is None and quiet["exit_code"] == 0


@pytest.mark.parametrize("command", ["retrain", "check", "rollback", "history", "auc", "bars", "audit", "replay"])
def test_every_command_lists_its_exit_codes(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "Exit codes: 0 " in result.output
