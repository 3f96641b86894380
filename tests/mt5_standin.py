"""A STAND-IN for the `MetaTrader5` package, for tests on machines where the real one cannot be installed.

This is not MetaTrader 5 and talks to no terminal. It reproduces the package's API shape as the source
uses it: module-level `initialize`, `shutdown`, `last_error`, `version`, `terminal_info`, `symbol_select`,
`symbol_info` and `copy_rates_from_pos` with the same signatures and return types (bool, None, (code,
message) tuple, (500, build, date) tuple, an object with the terminal's `path` folder or None, an object with
the symbol's `point` and `digits` or None, structured numpy array or None), the real `TIMEFRAME_*` values,
and the real rates dtype. A `Terminal` scenario says what the terminal holds and how it misbehaves (not
running, refusing a login, still loading history, capped by "Max. bars in chart"), with the error codes the real
package reports. Tests inject it with `monkeypatch.setitem(sys.modules, "MetaTrader5", make_module(...))`.
"""

from __future__ import annotations

import ntpath
import types
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# numpy dtype of MetaTrader5.copy_rates_* results (MqlRates).
RATES_DTYPE = np.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
                        ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8")])
TIMEFRAMES = {"M1": 1, "M5": 5, "M15": 15, "M30": 30, "H1": 16385, "H4": 16388, "D1": 16408}
SUCCESS = (1, "Success")
NOT_RUNNING = (-10003, "IPC initialize failed, MetaTrader 5 x64 not found")
AUTH_FAILED = (-6, "Terminal: Authorization failed")
CALL_FAILED = (-1, "Terminal: Call failed")
NO_IPC = (-10004, "No IPC connection")


def rates_from_bars(frame: pd.DataFrame, server_clock: str) -> np.ndarray:
    """UTC bars as MT5 returns them: server wall time written as epoch seconds, MqlRates fields."""
    wall = frame["time"].dt.tz_convert(server_clock).dt.tz_localize(None)
    rates = np.zeros(len(frame), dtype=RATES_DTYPE)
    rates["time"] = (wall - pd.Timestamp(0)) // pd.Timedelta(seconds=1)
    for name in ("open", "high", "low", "close", "tick_volume", "spread", "real_volume"):
        rates[name] = frame[name].to_numpy()
    return rates


@dataclass
class Terminal:
    """The scenario: rates held per (symbol, timeframe), accepted credentials, and scripted failures."""

    rates: dict[tuple[str, int], np.ndarray]
    running: bool = True
    login: int = 0  # the account it accepts when a login is given (0: any)
    password: str = ""
    max_bars: int | None = None  # the terminal's "Max. bars in chart"
    ipc_failures: int = 0  # initialize() fails like a terminal still starting this many times first
    history_loading: int = 0  # copy_rates_from_pos returns None this many times first
    point: float = 0.01  # symbol_info().point of every symbol held (XAUUSD on most brokers: 2 digits)
    answers_from: str = ""  # the folder of a terminal that answers whatever path was asked for (crossed wires)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    connected: bool = False
    folder: str = ""  # terminal_info().path of the terminal connected to
    error: tuple[int, str] = SUCCESS

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


def make_module(terminal: Terminal) -> types.ModuleType:
    """A fresh `MetaTrader5` stand-in module playing `terminal`."""
    module = types.ModuleType("MetaTrader5", __doc__)
    for name, value in TIMEFRAMES.items():
        setattr(module, f"TIMEFRAME_{name}", value)

    def record(name: str, *args: Any, **kwargs: Any) -> None:
        terminal.calls.append((name, args, kwargs))

    def initialize(path: str | None = None, *, login: int | None = None, password: str | None = None,
                   server: str | None = None, timeout: int | None = None, portable: bool = False) -> bool:
        record("initialize", *([path] if path else []), login=login, password=password, server=server, timeout=timeout)
        if not terminal.running or terminal.ipc_failures > 0:
            terminal.ipc_failures -= 1
            terminal.error = NOT_RUNNING
            return False
        if login is not None and ((terminal.login and login != terminal.login) or password != terminal.password):
            terminal.error = AUTH_FAILED
            return False
        terminal.connected, terminal.error = True, SUCCESS
        terminal.folder = terminal.answers_from or (ntpath.dirname(path) if path else r"C:\Program Files\MetaTrader 5")
        return True

    def shutdown() -> None:
        record("shutdown")
        terminal.connected = False

    def last_error() -> tuple[int, str]:
        return terminal.error

    def version() -> tuple[int, int, str] | None:
        return (500, 4410, "14 Jun 2024") if terminal.connected else None

    def terminal_info() -> types.SimpleNamespace | None:
        return types.SimpleNamespace(path=terminal.folder, connected=True) if terminal.connected else None

    def symbol_select(symbol: str, enable: bool = True) -> bool:
        record("symbol_select", symbol, enable)
        known = terminal.connected and any(held == symbol for held, _ in terminal.rates)
        terminal.error = SUCCESS if known else (CALL_FAILED if terminal.connected else NO_IPC)
        return known

    def symbol_info(symbol: str) -> types.SimpleNamespace | None:
        record("symbol_info", symbol)
        known = terminal.connected and any(held == symbol for held, _ in terminal.rates)
        terminal.error = SUCCESS if known else (CALL_FAILED if terminal.connected else NO_IPC)
        digits = max(0, round(-np.log10(terminal.point)))
        return types.SimpleNamespace(name=symbol, point=terminal.point, digits=digits) if known else None

    def copy_rates_from_pos(symbol: str, timeframe: int, start_pos: int, count: int) -> np.ndarray | None:
        record("copy_rates_from_pos", symbol, timeframe, start_pos, count)
        held = terminal.rates.get((symbol, timeframe))
        if not terminal.connected or held is None or terminal.history_loading > 0:
            terminal.history_loading -= 1
            terminal.error = CALL_FAILED if terminal.connected else NO_IPC
            return None
        available = held[-terminal.max_bars:] if terminal.max_bars else held
        end = len(available) - start_pos
        terminal.error = SUCCESS
        return available[max(0, end - count): end].copy()

    module.initialize, module.shutdown, module.last_error = initialize, shutdown, last_error
    module.version, module.symbol_select, module.copy_rates_from_pos = version, symbol_select, copy_rates_from_pos
    module.terminal_info, module.symbol_info = terminal_info, symbol_info
    return module
