"""Which MetaTrader 5 terminal the source attaches to (issue 15, item 20), through the stand-in module.

Several terminals on one machine are the norm for operators with more than one broker; without a path the
MetaTrader5 package attaches to whichever it finds. The installs are laid out here as Windows lays them
out (one folder per terminal under %ProgramFiles%, one data folder per terminal under
%APPDATA%\\MetaQuotes\\Terminal with an origin.txt naming the install folder), in a temporary directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
from mt5_standin import Terminal, make_module, rates_from_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.data.mt5 import installed_terminals

M15 = 15


def install(folder: Path) -> Path:
    """A terminal install: the folder with its terminal64.exe."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "terminal64.exe"
    exe.write_bytes(b"MZ")
    return exe


def data_folder(appdata: Path, instance_id: str, origin: str, encoding: str = "utf-16") -> Path:
    """A terminal's data folder as the terminal creates it: origin.txt holds the install folder."""
    folder = appdata / "MetaQuotes" / "Terminal" / instance_id
    folder.mkdir(parents=True)
    (folder / "origin.txt").write_bytes(origin.encode(encoding))  # Python's utf-16 writes the byte-order mark
    return folder


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Empty %ProgramFiles% and %APPDATA% of this test's own, whatever the machine running the tests has."""
    roots = {"ProgramFiles": tmp_path / "Program Files", "APPDATA": tmp_path / "AppData" / "Roaming"}
    for name, root in roots.items():
        root.mkdir(parents=True)
        monkeypatch.setenv(name, str(root))
    monkeypatch.delenv("ProgramW6432", raising=False)
    return roots


@pytest.fixture
def terminal(sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """The stand-in importable as `MetaTrader5`, serving the bundled bars."""
    held = Terminal(rates={("XAUUSD", M15): rates_from_bars(sample_frame, "Europe/Athens")})
    monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(held))
    return held


def bars_check(sample_frame: pd.DataFrame, *extra: str) -> tuple[int, dict]:
    """`bars --source mt5 --json`, the check the scheduled task's context runs, after the newest bar closed."""
    now = (sample_frame["time"].iloc[-1] + pd.Timedelta(minutes=20)).isoformat()
    result = CliRunner().invoke(app, ["bars", "--source", "mt5", "--bars", "3000", "--now", now, "--json", *extra])
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_installed_terminals_come_from_program_files_and_the_data_folders_origin(
    machine: dict[str, Path], tmp_path: Path
) -> None:
    exness = install(machine["ProgramFiles"] / "MetaTrader 5 EXNESS")
    icm = install(machine["ProgramFiles"] / "ICMarkets - MetaTrader 5")
    elsewhere = install(tmp_path / "MT5 Slot 2")
    removed = tmp_path / "Uninstalled MetaTrader 5"
    data_folder(machine["APPDATA"], "D0E8209F77C8CF37AD8BF550E51FF075", str(exness.parent))  # same install twice
    data_folder(machine["APPDATA"], "7F4A1B0C9E2D3F5A6B7C8D9E0F1A2B3C", str(elsewhere.parent) + "\r\n", "utf-8")
    data_folder(machine["APPDATA"], "0123456789ABCDEF0123456789ABCDEF", str(removed))
    (machine["APPDATA"] / "MetaQuotes" / "Terminal" / "Common").mkdir()  # shared folder, no origin.txt
    (machine["ProgramFiles"] / "Python311").mkdir()  # another program
    assert installed_terminals() == sorted([str(exness), str(icm), str(elsewhere)])
    assert installed_terminals({}) == []  # not Windows: nothing to find


def test_two_terminals_and_no_mt5_path_is_refused_naming_the_setting(
    machine: dict[str, Path], terminal: Terminal, sample_frame: pd.DataFrame
) -> None:
    first = install(machine["ProgramFiles"] / "MetaTrader 5")
    second = install(machine["ProgramFiles"] / "MetaTrader 5 EXNESS")
    code, report = bars_check(sample_frame)
    assert code == 2 and report["exit_code"] == 2
    assert report["error"] == (
        f"2 MetaTrader 5 terminals are installed ({'; '.join(sorted([str(first), str(second)]))}) and 'mt5_path' is empty, so the MetaTrader5 "
        "package could attach to any of them: set 'mt5_path' (or AUTOTRAINER_MT5_PATH) to the terminal64.exe "
        "the bot trades with")
    assert terminal.calls == []  # no terminal was touched


def test_a_pinned_terminal_is_passed_to_every_initialize(
    machine: dict[str, Path], terminal: Terminal, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(machine["ProgramFiles"] / "MetaTrader 5")
    bot = install(machine["ProgramFiles"] / "MetaTrader 5 EXNESS")
    monkeypatch.setenv("AUTOTRAINER_MT5_PATH", str(bot))
    terminal.ipc_failures = 1  # the retry must pin the same terminal
    code, report = bars_check(sample_frame, "--allow-stale")
    assert code == 0, report
    assert report["source"] == "mt5" and report["bars"] == 3000
    initializes = [args for name, args, _ in terminal.calls if name == "initialize"]
    assert initializes == [(str(bot),), (str(bot),)]


def test_one_terminal_needs_no_path(machine: dict[str, Path], terminal: Terminal,
                                    sample_frame: pd.DataFrame) -> None:
    install(machine["ProgramFiles"] / "MetaTrader 5")
    code, report = bars_check(sample_frame)
    assert code == 0, report
    assert [args for name, args, _ in terminal.calls if name == "initialize"] == [()]


def test_a_terminal_answering_for_another_path_is_refused(
    machine: dict[str, Path], terminal: Terminal, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Crossed wires: initialize(path) succeeded, but terminal_info() names another install folder."""
    other = install(machine["ProgramFiles"] / "MetaTrader 5")
    bot = install(machine["ProgramFiles"] / "MetaTrader 5 EXNESS")
    monkeypatch.setenv("AUTOTRAINER_MT5_PATH", str(bot))
    terminal.answers_from = str(other.parent)
    code, report = bars_check(sample_frame)
    assert code == 2
    assert report["error"] == (f"MetaTrader 5 answered from the terminal in {other.parent}, not from the one "
                               f"'mt5_path' names ({bot}); close the other terminals or start the bot's before a retrain")
    assert terminal.names() == ["initialize", "shutdown"]  # no bars were read from the wrong terminal
