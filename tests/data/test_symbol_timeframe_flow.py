"""--symbol and --timeframe flow from the command line through the pipeline into the record and manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from bar_layouts import MT5_EXPORT, _text
from conftest import PUBLISHABLE, recorded_runs
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.store import pairs as store


def hourly(frame: pd.DataFrame) -> pd.DataFrame:
    """The real M15 bars aggregated to H1, as the terminal builds them."""
    grouped = frame.groupby(frame["time"].dt.floor("h"))
    return pd.DataFrame({
        "open": grouped["open"].first(), "high": grouped["high"].max(), "low": grouped["low"].min(),
        "close": grouped["close"].last(), "tick_volume": grouped["tick_volume"].sum(),
        "spread": grouped["spread"].max(), "real_volume": grouped["real_volume"].sum(),
    }).rename_axis("time").reset_index()


def test_an_h1_export_trains_an_h1_model_for_the_brokers_symbol(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    bars = hourly(sample_frame)
    export = tmp_path / "XAUUSDm_H1_202506240700_202602110300.csv"
    export.write_text(_text(bars, MT5_EXPORT, "\t"))
    (tmp_path / "autotrainer.toml").write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in PUBLISHABLE.items()) + "\n")
    runner = CliRunner()

    wrong = runner.invoke(app, ["retrain", "--source", str(export), "--symbol", "XAUUSDm", "--type", "daily"])
    assert wrong.exit_code == 2
    assert "the file name says XAUUSDm H1, but the settings ask for XAUUSDm M15" in wrong.output

    result = runner.invoke(app, ["retrain", "--source", str(export), "--symbol", "XAUUSDm", "--timeframe", "H1",
                                 "--type", "daily", "--allow-stale", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["symbol"], record["timeframe"], record["bars_used"]) == ("XAUUSDm", "H1", 3000)
    assert record["data_end"] == "2026-02-11T01:00:00+00:00"
    manifest = store.read_manifest(tmp_path / "models")
    assert (manifest["symbol"], manifest["timeframe"]) == ("XAUUSDm", "H1")
    assert manifest["data"]["source"] == str(export) and manifest["settings"]["timeframe"] == "H1"
    assert [(r.symbol, r.timeframe, r.status) for r in recorded_runs(tmp_path / "data")] == [
        ("XAUUSDm", "M15", "failed"), ("XAUUSDm", "H1", record["status"])]


def test_h1_bars_under_an_m15_setting_name_both(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    path = tmp_path / "hourly.csv"
    path.write_text(_text(hourly(sample_frame), MT5_EXPORT, "\t"))
    result = CliRunner().invoke(app, ["bars", "--source", str(path)])
    assert result.exit_code == 2
    assert ("bars are 60 minutes apart, but the configured timeframe is M15 (15 minutes); the data looks like H1"
            in result.output)
