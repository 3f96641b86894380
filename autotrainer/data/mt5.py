"""Bars straight from the MetaTrader 5 terminal the bot runs next to, through the `MetaTrader5` package.

The package exists for Windows only and talks to a running terminal; it is imported here and only when
this source is used, so the rest of the tool runs anywhere. Each attempt is initialize -> symbol_select
-> symbol_info (the point that prices the spread) -> copy_rates_from_pos -> shutdown, with shutdown always called. A terminal that is starting or updating
(IPC errors) and history that is still downloading (no or too few bars) are retried with a doubling
backoff; a refused login or an unknown symbol is not. Every failure quotes `last_error()`. The password
is passed to initialize() and nowhere else: no log line, message or record contains it.

Without a path, initialize() attaches to whichever terminal the package finds, and operators running
several terminals report it picking the wrong one; so with more than one terminal installed, `mt5_path`
must name the bot's terminal64.exe, and it is passed to every initialize() call.
"""

from __future__ import annotations

import importlib.util
import logging
import ntpath
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from autotrainer.config import Settings
from autotrainer.data.bars import Bars
from autotrainer.data.costs import mt5_point
from autotrainer.data.server_clock import rates_to_bars
from autotrainer.errors import ConfigError, DataError, InsufficientDataError

log = logging.getLogger("autotrainer")
PACKAGE = "MetaTrader5"
AUTH_FAILED = -6
IPC_ERRORS = range(-10005, -9999)  # RES_E_INTERNAL_FAIL_* : the terminal is not there or not answering
TERMINAL_EXE = "terminal64.exe"


class _Transient(Exception):
    """A failure worth another attempt; `final` is what to raise when the attempts run out.

    Too few bars carries the `rates` it did get and the `quoted` last_error(), for the caller to judge.
    """

    def __init__(self, final: Exception, rates: np.ndarray | None = None, quoted: str = "") -> None:
        super().__init__(str(final))
        self.final, self.rates, self.quoted = final, rates, quoted


@dataclass
class Fetched:
    """Rates as the terminal returned them, what was asked, and the retries it took."""

    rates: np.ndarray
    requested: int
    last_error: str
    retries: list[str]
    point: float | None = None  # symbol_info().point, asked in the same session as the bars


def package_available() -> bool:
    """Whether `import MetaTrader5` would work, without importing it."""
    if PACKAGE in sys.modules:
        return True
    try:
        return importlib.util.find_spec(PACKAGE) is not None
    except (ImportError, ValueError):
        return False


def import_package() -> ModuleType:
    try:
        return importlib.import_module(PACKAGE)
    except ImportError:
        raise ConfigError(
            "source 'mt5' needs the MetaTrader5 package, which exists for Windows only and talks to a running "
            "terminal: install it there (pip install MetaTrader5), or set 'source' to a bar file or 'sample'"
        ) from None


def load_mt5_bars(settings: Settings, count: int, now: datetime, mt5: ModuleType | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> Bars:
    """The newest `count` complete bars from the terminal, in UTC and validated."""
    mt5 = mt5 or import_package()
    require_pinned_terminal(settings)
    origin = f"MetaTrader 5 {settings.symbol} {settings.timeframe}"
    fetched = fetch_rates(mt5, settings, count + 1, sleep)  # one more: the newest may still be forming
    bars = rates_to_bars(fetched.rates, settings.server_timezone, origin)
    closes = bars.frame["time"] + pd.Timedelta(minutes=settings.timeframe_minutes)
    complete = bars.frame[(closes <= pd.Timestamp(now).tz_convert("UTC")).to_numpy()].reset_index(drop=True)
    if len(complete) < count:
        raise InsufficientDataError(
            f"{origin}: the terminal returned {len(complete)} complete bars but {count} are needed "
            f"(copy_rates_from_pos asked for {fetched.requested}, one more for the bar still forming; "
            f"{fetched.last_error}); raise 'Max. bars in chart' (Tools > Options > Charts) and let the terminal "
            "download the history, or ask for fewer bars (--bars or the *_bars settings); retrain skipped"
        )
    bars.frame = complete.iloc[-count:].reset_index(drop=True)
    bars.warnings.extend(fetched.retries)
    bars.server_clock = settings.server_timezone
    bars.symbol_point = fetched.point
    return bars


def installed_terminals(env: Mapping[str, str] | None = None) -> list[str]:
    """Every terminal64.exe installed for this user: the candidates initialize() chooses from without a path.

    Two places find them: installs under %ProgramFiles% (the installer's default, one folder per broker),
    and each data folder %APPDATA%\\MetaQuotes\\Terminal\\<id>\\origin.txt, which holds the folder the terminal
    was installed to (installs elsewhere included). A data folder whose terminal was removed is ignored.
    Portable installs outside %ProgramFiles% keep their data beside the program and are not seen.
    """
    env = os.environ if env is None else env
    candidates = [exe for root in {env.get("ProgramFiles", ""), env.get("ProgramW6432", "")} if root
                  for exe in Path(root).glob(f"*/{TERMINAL_EXE}")]
    if env.get("APPDATA"):
        for origin in Path(env["APPDATA"], "MetaQuotes", "Terminal").glob("*/origin.txt"):
            folder = _origin_folder(origin)
            if folder:
                candidates.append(Path(folder, TERMINAL_EXE))
    found: dict[str, str] = {}
    for exe in candidates:
        if exe.is_file():
            found.setdefault(os.path.normcase(os.path.normpath(exe)), str(exe))
    return sorted(found.values())


def _origin_folder(origin: Path) -> str:
    """The install folder an origin.txt names (UTF-16 with a byte-order mark, or UTF-8); empty if unreadable."""
    try:
        raw = origin.read_bytes()
        text = raw.decode("utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return ""
    return text.strip()


def require_pinned_terminal(settings: Settings, env: Mapping[str, str] | None = None) -> None:
    """Refuse to guess between several installed terminals: the wrong one would train on another account's bars."""
    if settings.mt5_path:
        return
    terminals = installed_terminals(env)
    if len(terminals) > 1:
        raise ConfigError(
            f"{len(terminals)} MetaTrader 5 terminals are installed ({'; '.join(terminals)}) and 'mt5_path' is "
            "empty, so the MetaTrader5 package could attach to any of them: set 'mt5_path' "
            "(or AUTOTRAINER_MT5_PATH) to the terminal64.exe the bot trades with"
        )


def fetch_rates(mt5: ModuleType, settings: Settings, requested: int, sleep: Callable[[float], None]) -> Fetched:
    """Retry transient failures up to `mt5_attempts` times with a doubling wait; permanent ones raise at once.

    When the attempts run out on too few bars, those bars are returned for the caller to judge.
    """
    retries: list[str] = []
    attempt = 1
    while True:
        try:
            rates, quoted, point = _attempt(mt5, settings, requested)
            return Fetched(rates, requested, quoted, retries, point)
        except _Transient as failure:
            if attempt >= settings.mt5_attempts:
                if failure.rates is not None:  # too few bars, still: the caller decides whether they suffice
                    return Fetched(failure.rates, requested, failure.quoted, retries)
                raise failure.final from None
            wait = settings.mt5_retry_seconds * 2 ** (attempt - 1)
            retries.append(f"MetaTrader 5 attempt {attempt} of {settings.mt5_attempts} failed: {failure}")
            log.warning("%s; retrying in %.1f s (attempt %d of %d)", failure, wait, attempt + 1,
                        settings.mt5_attempts)
            sleep(wait)
            attempt += 1


def _attempt(mt5: ModuleType, settings: Settings, requested: int) -> tuple[np.ndarray, str, float | None]:
    """One initialize -> select -> symbol_info -> copy -> shutdown round; shutdown runs whatever happens. The
    symbol's point is asked while the session is open: it prices the spread column in the edge after costs."""
    symbol, timeframe = settings.symbol, settings.timeframe
    try:
        if not _initialize(mt5, settings):
            code, text = _last_error(mt5)
            quoted = f"last_error() = ({code}, {text!r})"
            if code == AUTH_FAILED:
                raise DataError(
                    f"MetaTrader 5 refused the login to "  # the account number itself is a credential: not shown
                    f"{'the account in setting mt5_login' if settings.mt5_login else 'the terminal default account'} on "
                    f"server {settings.mt5_server or '(terminal default)'!r} ({quoted}); check 'mt5_login', "
                    "'mt5_server' and the password (AUTOTRAINER_MT5_PASSWORD or 'mt5_password')"
                )
            failure = DataError(
                f"MetaTrader 5 initialize() failed ({quoted}): the terminal is not running or not reachable; "
                "start it and log in, or set 'mt5_path' to terminal64.exe"
                if code in IPC_ERRORS else f"MetaTrader 5 initialize() failed ({quoted})"
            )
            if code in IPC_ERRORS:
                raise _Transient(failure)
            raise failure
        _confirm_pinned_terminal(mt5, settings)
        if not mt5.symbol_select(symbol, True):
            raise DataError(
                f"MetaTrader 5 does not know the symbol {symbol!r} (symbol_select failed, {_quoted(mt5)}); use the "
                "exact Market Watch name including any broker suffix (XAUUSDm, XAUUSD., GOLD), setting 'symbol'"
            )
        point = mt5_point(mt5, symbol)
        rates = mt5.copy_rates_from_pos(symbol, getattr(mt5, f"TIMEFRAME_{timeframe}"), 0, requested)
        if rates is None or len(rates) == 0:
            raise _Transient(DataError(
                f"MetaTrader 5 returned no {symbol} {timeframe} bars (copy_rates_from_pos, {_quoted(mt5)}); "
                "open a chart of the symbol once so the terminal downloads its history, and check that 'Max. bars "
                f"in chart' (Tools > Options > Charts) is at least {requested}"
            ))
        if len(rates) < requested:
            quoted = _quoted(mt5)
            raise _Transient(InsufficientDataError(
                f"MetaTrader 5 returned {len(rates)} of the {requested} {symbol} {timeframe} bars asked for ({quoted})"
            ), rates, quoted)
        return rates, _quoted(mt5), point
    finally:
        mt5.shutdown()


def _initialize(mt5: ModuleType, settings: Settings) -> bool:
    """The path goes first and unnamed, as the package documents it; without one the package picks a terminal."""
    options: dict[str, Any] = {"timeout": settings.mt5_timeout_ms}
    if settings.mt5_login:
        options["login"] = settings.mt5_login
        if settings.mt5_password:
            options["password"] = settings.mt5_password
    if settings.mt5_server:
        options["server"] = settings.mt5_server
    log.info("Connecting to MetaTrader 5%s%s%s...", f" at {settings.mt5_path}" if settings.mt5_path else "",
             ", account from 'mt5_login'" if settings.mt5_login else "",  # an account number is a credential
             f" on {settings.mt5_server}" if settings.mt5_server else "")
    return bool(mt5.initialize(settings.mt5_path, **options) if settings.mt5_path else mt5.initialize(**options))


def _confirm_pinned_terminal(mt5: ModuleType, settings: Settings) -> None:
    """Operators running several terminals report the package answering from another one than the path asked
    for; bars from another terminal are another account's, so a mismatch is refused, never trained on."""
    info = mt5.terminal_info() if settings.mt5_path else None
    if info is None:
        return
    answered, pinned = str(info.path), ntpath.dirname(settings.mt5_path)
    if ntpath.normcase(ntpath.normpath(answered)) != ntpath.normcase(ntpath.normpath(pinned)):
        raise DataError(
            f"MetaTrader 5 answered from the terminal in {answered}, not from the one 'mt5_path' names "
            f"({settings.mt5_path}); close the other terminals or start the bot's before a retrain"
        )


def _last_error(mt5: ModuleType) -> tuple[int, str]:
    error = mt5.last_error()
    return (int(error[0]), str(error[1])) if error else (0, "no error reported")


def _quoted(mt5: ModuleType) -> str:
    code, text = _last_error(mt5)
    return f"last_error() = ({code}, {text!r})"
