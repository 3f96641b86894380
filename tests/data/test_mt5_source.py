"""The MetaTrader 5 source, through the stand-in module (tests/mt5_standin.py) serving the real sample bars."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE, recorded_runs
from mt5_standin import RATES_DTYPE, Terminal, make_module, rates_from_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings, load_settings
from autotrainer.data.mt5 import load_mt5_bars
from autotrainer.data.sources import load_bars, resolve_source
from autotrainer.errors import ConfigError, DataError, InsufficientDataError
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store

M15 = 15
BARS = 2000
PASSWORD = "pw-7f3a-never-shown"


@pytest.fixture(autouse=True)
def _no_installed_terminals(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's own MetaTrader 5 installs (a Windows developer's) must not count: these tests pin none."""
    for name in ("ProgramFiles", "ProgramW6432", "APPDATA"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def terminal(sample_frame: pd.DataFrame) -> Terminal:
    return Terminal(rates={("XAUUSD", M15): rates_from_bars(sample_frame, "Europe/Athens")})


@pytest.fixture
def installed(terminal: Terminal, monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """The stand-in importable as `MetaTrader5`, as the real package is on the bot's Windows machine."""
    monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(terminal))
    return terminal


def after_close(frame: pd.DataFrame) -> pd.Timestamp:
    """A moment when the newest sample bar has closed."""
    return frame["time"].iloc[-1] + pd.Timedelta(minutes=20)


def test_bars_are_the_terminals_complete_bars_in_utc(installed: Terminal, sample_frame: pd.DataFrame,
                                                     make_settings: Callable[..., Settings]) -> None:
    bars = load_bars(make_settings(source="mt5"), BARS, now=after_close(sample_frame))
    pd.testing.assert_frame_equal(bars.frame, sample_frame.iloc[-BARS:].reset_index(drop=True))
    assert installed.names() == ["initialize", "symbol_select", "symbol_info", "copy_rates_from_pos", "shutdown"]
    assert installed.calls[1][1] == ("XAUUSD", True)
    assert installed.calls[3][1] == ("XAUUSD", M15, 0, BARS + 1)  # one more for a bar still forming
    assert bars.symbol_point == 0.01  # symbol_info().point, asked in the same session: it prices the spread
    assert installed.calls[0][2]["timeout"] == 60_000 and installed.calls[0][2]["login"] is None
    assert bars.origin == "MetaTrader 5 XAUUSD M15" and bars.server_clock == "Europe/Athens"


def test_the_bar_still_forming_is_left_out(installed: Terminal, sample_frame: pd.DataFrame,
                                           make_settings: Callable[..., Settings]) -> None:
    inside_last_bar = sample_frame["time"].iloc[-1] + pd.Timedelta(minutes=7)
    bars = load_bars(make_settings(source="mt5"), BARS, now=inside_last_bar)
    pd.testing.assert_frame_equal(bars.frame, sample_frame.iloc[-BARS - 1:-1].reset_index(drop=True))


def test_stand_in_returns_the_packages_rates_dtype(installed: Terminal) -> None:
    import MetaTrader5 as mt5  # the stand-in, as the source sees it

    assert mt5.initialize(timeout=1000) is True and mt5.last_error() == (1, "Success")
    rates = mt5.copy_rates_from_pos("XAUUSD", mt5.TIMEFRAME_M15, 0, 10)
    assert rates.dtype == RATES_DTYPE and len(rates) == 10 and mt5.version()[0] == 500
    assert mt5.shutdown() is None


def test_credentials_reach_initialize_and_no_log_record_or_manifest(
    installed: Terminal, sample_frame: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    installed.login, installed.password = 5_012_345, PASSWORD
    env = {"AUTOTRAINER_MT5_LOGIN": "5012345", "AUTOTRAINER_MT5_PASSWORD": PASSWORD,
           "AUTOTRAINER_MT5_SERVER": "MetaQuotes-Demo", "AUTOTRAINER_MT5_PATH": r"C:\MT5\terminal64.exe"}
    settings = load_settings(None, {**PUBLISHABLE, "source": "mt5", "models_dir": tmp_path / "models",
                                    "data_dir": tmp_path / "data"}, env=env)
    with caplog.at_level(logging.INFO, logger="autotrainer"):
        outcome = retrain(settings, "initial", now=after_close(sample_frame).to_pydatetime())
    assert outcome.exit_code == 0 and outcome.record.source == "mt5"
    args, kwargs = installed.calls[0][1:]
    assert args == (r"C:\MT5\terminal64.exe",)
    assert kwargs == {"login": 5_012_345, "password": PASSWORD, "server": "MetaQuotes-Demo", "timeout": 60_000}
    assert "account from 'mt5_login' on MetaQuotes-Demo" in caplog.text and "5012345" not in caplog.text
    written = [p.read_text() for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".txt")]
    assert len(written) >= 3 and not any(PASSWORD in text for text in [caplog.text, *written])
    recorded = store.read_manifest(settings.models_dir)["settings"]
    assert recorded["mt5_password_set"] and "mt5_password" not in recorded and "mt5_login" not in recorded


@pytest.mark.parametrize(
    ("scenario", "overrides", "error", "message", "initialize_calls"),
    [
        ({"running": False}, {}, DataError, r"initialize\(\) failed \(last_error\(\) = \(-10003, 'IPC initialize "
         r"failed, MetaTrader 5 x64 not found'\)\): the terminal is not running or not reachable", 3),
        ({"login": 111, "password": "right"}, {"mt5_login": 111, "mt5_password": "wrong"}, DataError,
         r"refused the login to the account in setting mt5_login .*last_error\(\) = \(-6, 'Terminal: Authorization failed'\)", 1),
        ({}, {"symbol": "XAUUSDx"}, DataError, r"does not know the symbol 'XAUUSDx' \(symbol_select failed, "
         r"last_error\(\) = \(-1, 'Terminal: Call failed'\)\); use the exact Market Watch name", 1),
        ({"history_loading": 99}, {}, DataError, r"returned no XAUUSD M15 bars \(copy_rates_from_pos, last_error\(\) "
         r"= \(-1, 'Terminal: Call failed'\)\)", 3),
        ({"max_bars": 1500}, {}, InsufficientDataError, r"returned 1500 complete bars but 2000 are needed \("
         r"copy_rates_from_pos asked for 2001, .*last_error\(\) = \(1, 'Success'\)\); raise 'Max\. bars in chart'", 3),
    ],
    ids=["terminal-not-running", "login-refused", "unknown-symbol", "no-bars", "fewer-bars-than-asked"],
)
def test_failures_quote_last_error_and_always_shut_down(
    scenario: dict, overrides: dict, error: type, message: str, initialize_calls: int, terminal: Terminal,
    sample_frame: pd.DataFrame, make_settings: Callable[..., Settings]
) -> None:
    for key, value in scenario.items():
        setattr(terminal, key, value)
    waits: list[float] = []
    settings = make_settings(source="mt5", mt5_retry_seconds=0.5, **overrides)
    with pytest.raises(error, match=message) as err:
        load_mt5_bars(settings, BARS, after_close(sample_frame), mt5=make_module(terminal), sleep=waits.append)
    assert terminal.names().count("initialize") == initialize_calls
    assert terminal.names().count("shutdown") == initialize_calls  # after every attempt, failed or not
    assert waits == [0.5, 1.0][: initialize_calls - 1]  # transient failures back off, permanent ones do not retry
    assert err.value.exit_code == (4 if error is InsufficientDataError else 2)
    assert "wrong" not in str(err.value) and "111" not in str(err.value)


def test_a_transient_failure_is_retried_and_recorded(terminal: Terminal, sample_frame: pd.DataFrame,
                                                     make_settings: Callable[..., Settings]) -> None:
    terminal.ipc_failures = 1
    waits: list[float] = []
    bars = load_mt5_bars(make_settings(source="mt5"), BARS, after_close(sample_frame), mt5=make_module(terminal),
                         sleep=waits.append)
    assert len(bars.frame) == BARS and waits == [2.0]
    assert bars.warnings == ["MetaTrader 5 attempt 1 of 3 failed: MetaTrader 5 initialize() failed (last_error() = "
                             "(-10003, 'IPC initialize failed, MetaTrader 5 x64 not found')): the terminal is not "
                             "running or not reachable; start it and log in, or set 'mt5_path' to terminal64.exe"]


def test_failed_and_skipped_runs_are_recorded_and_leave_models_untouched(
    installed: Terminal, sample_frame: pd.DataFrame, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    retrain(make_settings(**PUBLISHABLE, source="sample"), "initial")
    models = {p.name: p.read_bytes() for p in (tmp_path / "models").rglob("*") if p.is_file()}
    settings = make_settings(**PUBLISHABLE, source="mt5", mt5_retry_seconds=0)
    installed.running = False
    failed = retrain(settings, "daily", now=after_close(sample_frame).to_pydatetime())
    installed.running, installed.max_bars = True, 2500
    skipped = retrain(settings, "daily", now=after_close(sample_frame).to_pydatetime())
    assert (failed.exit_code, failed.record.status) == (2, "failed")
    assert (skipped.exit_code, skipped.record.status) == (4, "skipped")
    assert "last_error() = (-10003" in failed.record.error_message
    assert "2500 complete bars but 3000 are needed" in skipped.record.error_message
    assert {p.name: p.read_bytes() for p in (tmp_path / "models").rglob("*") if p.is_file()} == models
    assert [(r.source, r.status) for r in recorded_runs(tmp_path / "data")][1:] == [("mt5", "failed"),
                                                                                      ("mt5", "skipped")]


def test_auto_source_is_mt5_only_where_the_package_is_importable(
    terminal: Terminal, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_source(make_settings()) == "sample"
    monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(terminal))
    assert resolve_source(make_settings()) == "mt5"
    assert resolve_source(make_settings(source="sample")) == "sample"


def test_mt5_without_the_package_is_a_clear_configuration_error(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ConfigError, match=r"source 'mt5' needs the MetaTrader5 package, which exists for Windows"):
        load_bars(make_settings(source="mt5"), BARS)
    result = CliRunner().invoke(app, ["retrain", "--source", "mt5"])
    assert result.exit_code == 2 and "needs the MetaTrader5 package" in result.output
    assert "Traceback" not in result.output


def test_cli_bars_reads_the_terminal(installed: Terminal, sample_frame: pd.DataFrame) -> None:
    now = after_close(sample_frame).isoformat()
    result = CliRunner().invoke(app, ["bars", "--source", "mt5", "--bars", "3000", "--now", now, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["source"], report["bars"], report["server_clock"]) == ("mt5", 3000, "Europe/Athens")
    assert report["end"] == "2026-02-11T01:45:00+00:00" and report["newest_bar_age_market_hours"] == 0.08


def test_nothing_else_imports_metatrader5(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    """A MetaTrader5 module that refuses to load: the file source and the CLI must never touch it."""
    (tmp_path / "MetaTrader5.py").write_text("raise RuntimeError('MetaTrader5 was imported')\n")
    bars_file = tmp_path / "bars.parquet"
    sample_frame.iloc[-1500:].to_parquet(bars_file)
    script = (
        "import sys\n"
        "from autotrainer import cli; from autotrainer.jobs import retrain as pipeline; from autotrainer.data import sources; from autotrainer.jobs import inspect_bars as bar_report\n"
        "from autotrainer.config import load_settings\n"
        f"bars = sources.load_bars(load_settings(None, {{'source': {str(bars_file)!r}}}, env={{}}), 1500)\n"
        "print(len(bars.frame), 'MetaTrader5' in sys.modules)\n"
    )
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1500", "False"]
