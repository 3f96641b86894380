"""The bot's side is frozen: the README's bot loop runs as written, `autotrainer.model` keeps its names, and
files written by the release before the regroup (models, manifests, history rows, outbox) are read unchanged."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"
OLD_RELEASE = Path(__file__).resolve().parents[1] / "fixtures" / "release-0.x"
runner = CliRunner()


class _LoopDone(Exception):
    """Ends the README's `while True` loop after a few turns."""


def _bot_snippet() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if "from autotrainer.live import" in block and "while True" in block)


def test_the_readmes_bot_loop_runs_as_written(published_pair: Settings, sample_frame: pd.DataFrame,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from mt5_standin import TIMEFRAMES, Terminal, make_module, rates_from_bars

    from autotrainer.store.bundle import load_bundle

    published = load_bundle(published_pair.models_dir).manifest["run_id"]  # in ./models, where the snippet looks
    terminal = Terminal({("XAUUSD", TIMEFRAMES["M15"]): rates_from_bars(sample_frame, "Europe/Athens")},
                        connected=True)
    monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(terminal))
    turns: list[Any] = []

    def sleep(_seconds: float) -> None:
        turns.append(scope.get("signal"))
        if len(turns) == 3:
            raise _LoopDone

    logged: list[str] = []
    scope: dict[str, Any] = {"time": type("T", (), {"sleep": staticmethod(sleep)}),
                             "logger": type("L", (), {"info": logged.append, "warning": logged.append})}
    with pytest.raises(_LoopDone):
        exec(compile(_bot_snippet(), "README.md", "exec"), scope)
    assert logged[0].startswith(f"Model {published} loaded")
    signal = scope["signal"]
    assert signal.action in ("BUY", "SELL", "HOLD") and signal.regime in ("low", "medium", "high")
    assert signal.time == sample_frame["time"].iloc[-2]  # the newest closed bar: position 0 is still forming
    assert ("copy_rates_from_pos", ("XAUUSD", TIMEFRAMES["M15"], 1, scope["min_bars"](scope["bundle"])), {}) \
        in terminal.calls


def test_the_bots_imports_from_autotrainer_model_keep_working(published_pair: Settings) -> None:
    from autotrainer.model import (
        ModelBundle,
        bundle_from_bytes,
        design_matrix,
        feature_rows,
        load_bundle,
        missing_features,
    )

    bundle = load_bundle(published_pair.models_dir)
    assert isinstance(bundle, ModelBundle) and missing_features(bundle.manifest) == []
    assert callable(bundle_from_bytes) and callable(design_matrix) and callable(feature_rows)


@pytest.fixture
def old_home(tmp_path: Path) -> Path:
    """A copy of the old release's folders, with settings that read them (SQLite history in data/)."""
    home = tmp_path / "old"
    shutil.copytree(OLD_RELEASE, home)
    (home / "autotrainer.toml").write_text('models_dir = "models"\ndata_dir = "data"\nsource = "sample"\n'
                                           "allow_stale_data = true\n", encoding="utf-8")
    return home


def test_models_written_before_the_regroup_load_and_predict_the_same(old_home: Path, sample_frame: pd.DataFrame) -> None:
    from autotrainer.live import ModelWatcher, min_bars, predict_latest

    expected = json.loads((old_home / "expected.json").read_text())
    bundle = ModelWatcher(old_home / "models").poll()
    assert bundle is not None and bundle.manifest["run_id"] == expected["active_run_id"]
    signal = predict_latest(bundle, sample_frame.iloc[-min_bars(bundle):].reset_index(drop=True))
    assert signal.p_up == pytest.approx(expected["p_up"], abs=1e-9)
    assert (signal.action, signal.regime, str(signal.time)) == (expected["action"], expected["regime"], expected["time"])


def test_history_and_outbox_written_before_the_regroup_are_read_and_drained(old_home: Path) -> None:
    expected = json.loads((old_home / "expected.json").read_text())
    outbox = old_home / "data" / "history-outbox.jsonl"
    assert outbox.exists()  # the old release's third run waits there: its database was down
    shown = runner.invoke(app, ["--home", str(old_home), "history", "--json"])
    assert shown.exit_code == 0, shown.output
    runs = {item["run_id"]: item for item in json.loads(shown.stdout)["items"] if item["entry"] == "run"}
    assert set(expected["runs"]) <= set(runs)
    assert all(runs[run_id]["outcome"] == "published" for run_id in expected["runs"])
    backups = runner.invoke(app, ["--home", str(old_home), "rollback", "--list", "--json"])
    assert backups.exit_code == 0 and [b["verifies"] for b in json.loads(backups.stdout)] == [True, True], backups.output
    rolled = runner.invoke(app, ["--home", str(old_home), "rollback", "--reason", "compat test", "--json"])
    assert rolled.exit_code == 0, rolled.output  # a write: the outbox is drained into the old database first
    assert not outbox.exists()
    items = json.loads(runner.invoke(app, ["--home", str(old_home), "history", "--json"]).stdout)["items"]
    assert {item["run_id"] for item in items if item["entry"] == "run"} >= set(expected["runs"])
    assert any(item["entry"] == "event" and item["kind"] == "rollback" for item in items)
