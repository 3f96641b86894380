"""One typed settings object: defaults < autotrainer.toml (or --config) < AUTOTRAINER_* env < flags.

Names and defaults follow the seed (`models_dir`, `min_auc_threshold`, ...) so operators recognise them.
Every value is checked here, once, so the pipeline never meets a nonsensical setting halfway through.
Light on imports on purpose: `autotrainer check` loads this on its fast path.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from autotrainer.errors import ConfigError
from autotrainer.logs import defer_warning, drop_deferred
from autotrainer.rules import DEFAULT_CONFIDENCE_THRESHOLD
from autotrainer.masking import database_kind, mask_password, url_secrets
from autotrainer.timeutil import DEFAULT_SERVER_TIMEZONE, parse_server_clock

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ENV_PREFIX = "AUTOTRAINER_"
CONFIG_FILE_NAME = "autotrainer.toml"
HOME_ENV = "AUTOTRAINER_HOME"
# Environment variables with the prefix that are not settings themselves.
NON_SETTING_ENV = {"AUTOTRAINER_CONFIG", HOME_ENV}
# Settings that name files or folders. A relative one is resolved once, here: against the config file's
# folder when it comes from the file, against the current directory when typed on the command line, and
# against the home folder (AUTOTRAINER_HOME / --home, else the current directory) otherwise.
PATH_SETTINGS = ("models_dir", "data_dir", "log_file", "source")
SOURCE_NAMES = ("auto", "mt5", "sample")
FOLDER_SETTINGS = ("models_dir", "data_dir")

TIMEFRAME_MINUTES = {"M1": 1, "M5": 5, "M15": 15, "M30": 30, "H1": 60, "H4": 240, "D1": 1440}
TRAINING_TYPES = ("initial", "daily", "weekend", "emergency")
_URL_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\+([A-Za-z0-9_]+))?://")
_URL_PORT_RE = re.compile(r"(?:[^:/]*(?::[^@]*)?@)?(?:\[[^/?]+\]|[^/:?]+)?(?::([^/?]*))?")  # as SQLAlchemy reads it
# The synchronous drivers each supported database can use (the module each imports as); None = the default.
DATABASE_DRIVERS = {
    "postgresql": {None: ("psycopg", "psycopg2"), "psycopg2": ("psycopg2",), "psycopg": ("psycopg",),
                   "pg8000": ("pg8000",)},
    "sqlite": {None: ("sqlite3",), "pysqlite": ("sqlite3",)},
}
# A feature plugin is named like an entry point: "package.module:function".
PLUGIN_RE = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def _setting(default: Any, help: str, **rules: Any) -> Any:
    return field(default=default, metadata={"help": help, **rules}, repr=not rules.get("secret", False))


@dataclass(frozen=True)
class Settings:
    """Every knob of the tool, with the seed's defaults."""

    home: Path = _setting(Path("."), "the folder relative paths are resolved against (AUTOTRAINER_HOME or --home, "
                                     "else the current directory); not a setting of the file", internal=True)
    models_dir: Path = _setting(Path("models"), "where the active model pair, manifest and backups live")
    data_dir: Path = _setting(Path("data"), "run history, fallback files, lock and state")
    log_file: str = _setting("logs/autotrainer.log", "rotating log of every run's lines ('' to switch off)", optional=True)
    lock_timeout_seconds: float = _setting(5.0, "how long a second retrain/rollback waits for the lock before exit 5",
                                           min=0.0, max=3600.0)
    symbol: str = _setting("XAUUSD", "broker symbol to train on (suffixes like XAUUSDm are just the symbol)")
    timeframe: str = _setting("M15", "bar timeframe", choices=tuple(TIMEFRAME_MINUTES))
    source: str = _setting(
        "auto",
        "'mt5' (the MetaTrader 5 terminal), 'sample' (bundled real XAUUSD M15 bars), a path to a bar file "
        "(CSV/TSV/TXT, optionally .gz/.zip, or Parquet), or 'auto': mt5 when the MetaTrader5 package is installed, else sample",
    )
    server_timezone: str = _setting(
        DEFAULT_SERVER_TIMEZONE,
        "the broker's server clock the bars are stamped in: an IANA name (most MT5 brokers run UTC+2 winter / "
        "UTC+3 summer = Europe/Athens), 'UTC', a fixed offset like '+03:00', or a zone plus a shift like "
        "'America/New_York+07:00' for brokers that change clocks with US daylight saving",
    )
    daily_retrain_hour_wib: int = _setting(5, "hour (WIB, UTC+7) of the daily retrain window", min=0, max=23)
    retrain_window_minutes: int = _setting(30, "the window is the retrain hour plus/minus this many minutes", min=1, max=180)
    weekend_retrain: bool = _setting(True, "deep retrain on Saturday and Sunday")
    min_hours_between_retrain: float = _setting(20.0, "minimum hours between scheduled retrains", min=0.0, max=168.0)
    emergency_min_hours: float = _setting(4.0, "minimum hours since the last retrain before an emergency one", min=0.0, max=168.0)
    backup_models: bool = _setting(True, "back the active pair up before replacing it")
    backups_kept: int = _setting(5, "newest backups to keep", min=1, max=1000)
    use_db: bool = _setting(True, "record runs in the database (false: files only)")
    database_url: str = _setting(
        "", "SQLAlchemy URL, e.g. postgresql+psycopg2://user:pass@host:5432/db; empty = SQLite in data_dir/autotrainer.db",
        optional=True,
    )
    min_auc_threshold: float = _setting(0.65, "test AUC at or above this is a success; below it is a WARNING", min=0.5, max=1.0)
    publish_floor_auc: float = _setting(
        0.52, "a candidate with test AUC below this floor is rejected (was 'rollback_auc_threshold': nothing is rolled "
        "back, the candidate is simply not published)", min=0.0, max=1.0)
    auto_retrain_on_low_auc: bool = _setting(True, "run an emergency retrain when the active model's AUC is low")
    emergency_rule: str = _setting(
        "evidence", "when an emergency retrain is due: 'evidence' = the active model's live AUC interval lies wholly "
        "below publish_floor_auc, or its live signal hit rate interval wholly below 50%; 'seed' = its AUC "
        "(live, else test) is below min_auc_threshold, which honest AUCs of about 0.51 always are",
        choices=("evidence", "seed"))
    champion_rule: str = _setting(
        "delong", "how a candidate is judged against the active model on the same bars: 'delong' rejects it only "
        "when the paired DeLong test shows it worse (one-sided p below champion_alpha); 'tolerance' rejects it "
        "whenever its AUC is below the champion's minus champion_tolerance (the plain rule, which decides on noise)",
        choices=("delong", "tolerance"))
    signal_rule: str = _setting(
        "keep_signalling", "'keep_signalling': a candidate that gives no BUY/SELL signal on its test bars at "
        "confidence_threshold does not replace an active model that signals, unless that model's signal hit rate "
        "interval lies wholly below 50% on the same test bars or live; 'off': AUC and champion_rule alone decide",
        choices=("keep_signalling", "off"))
    champion_alpha: float = _setting(0.05, "'delong' rule: reject a candidate only when it is worse with one-sided "
                                     "p below this", min=0.0001, max=0.5)
    champion_tolerance: float = _setting(0.0, "a candidate may trail the active model's AUC on the same bars by this much",
                                         min=0.0, max=0.5)
    champion_min_rows: int = _setting(200, "fewest shared out-of-sample test bars for a champion comparison", min=20,
                                      max=1_000_000)
    min_live_bars: int = _setting(200, "fewest new bars `auc --live` scores before it reports a number", min=20,
                                  max=1_000_000)
    initial_bars: int = _setting(8000, "bars for the first ever training", min=100, max=1_000_000)
    initial_rounds: int = _setting(50, "boosting rounds for the first ever training", min=1, max=10_000)
    daily_bars: int = _setting(8000, "bars for a daily retrain", min=100, max=1_000_000)
    daily_rounds: int = _setting(50, "boosting rounds for a daily retrain", min=1, max=10_000)
    weekend_bars: int = _setting(15000, "bars for a weekend deep retrain", min=100, max=1_000_000)
    weekend_rounds: int = _setting(80, "boosting rounds for a weekend deep retrain", min=1, max=10_000)
    emergency_bars: int = _setting(8000, "bars for an emergency retrain", min=100, max=1_000_000)
    emergency_rounds: int = _setting(50, "boosting rounds for an emergency retrain", min=1, max=10_000)
    min_bars: int = _setting(1000, "fewer bars than this and the run is skipped", min=300, max=1_000_000)
    train_ratio: float = _setting(0.7, "chronological share of rows before the test slice", min=0.5, max=0.95)
    validation_ratio: float = _setting(0.2, "share of the training part kept for early stopping", min=0.05, max=0.5)
    early_stopping_rounds: int = _setting(5, "stop when validation AUC has not improved for this many rounds", min=1, max=1000)
    embargo_bars: int = _setting(0, "minimum gap between slices; the gap is never below lookahead + longest feature window", min=0, max=10_000)
    lookahead: int = _setting(1, "target horizon in bars: 1 means 'does the next bar close higher'", min=1, max=100)
    hmm_regimes: int = _setting(3, "HMM states, named by volatility", min=2, max=6)
    hmm_lookback: int = _setting(500, "bars the forward filter sees, exactly as the live bot does", min=50, max=5000)
    hmm_max_iter: int = _setting(30, "bound on HMM EM iterations", min=1, max=1000)
    confidence_threshold: float | str = _setting(
        DEFAULT_CONFIDENCE_THRESHOLD,
        "probability the bot needs to act on a signal (model metadata), or 'auto': the threshold of a fixed grid "
        "with the best net edge on the validation slice among those with min_signals signals",
        min=0.5, max=1.0, word="auto")
    xgb_max_depth: int = _setting(4, "XGBoost tree depth", min=1, max=16)
    xgb_learning_rate: float = _setting(0.1, "XGBoost learning rate (eta)", min=0.001, max=1.0)
    random_seed: int = _setting(42, "seed for every random choice, so runs are reproducible", min=0, max=2**31 - 1)
    # --- Features: the built-in set and the operator's own functions (issue 7) ---
    builtin_features: bool = _setting(True, "compute the built-in features (false: only the plugins' columns and the regime)")
    features: tuple[str, ...] = _setting(
        (), "extra feature functions, 'package.module:function', run after the built-ins and audited for look-ahead",
        item_pattern=PLUGIN_RE,
    )

    # --- The edge of the signals after costs, and the rules that use evidence (issue 17) ---
    commission_per_trade: float = _setting(0.0, "cost of a round trip beyond the spread, in price units",
                                           min=0.0, max=1_000_000.0)
    point: float = _setting(0.0, "price of one spread point; unset: MetaTrader 5's symbol_info().point, or for "
                            "files the prices' decimals (2 decimals: 0.01)", min=0.0, max=1_000_000.0, positive=True)
    default_spread_points: float = _setting(14.0, "spread in points for bars without a spread column (14: the "
                                            "median of the bundled XAUUSD M15 bars)", min=0.0, max=1_000_000.0)
    edge_rule: str = _setting("off", "'no_loss': reject a candidate whose test-slice edge after costs is "
                              "demonstrably negative (its interval wholly below 0); 'off': the edge is reported only",
                              choices=("off", "no_loss"))
    floor_rule: str = _setting("point", "'point': test AUC below publish_floor_auc rejects; 'evidence': only "
                               "a test AUC whose 95% interval lies wholly below it rejects",
                               choices=("point", "evidence"))
    skip_unchanged: bool = _setting(True, "skip a run whose bars, settings and code equal those of the last run "
                                    "that trained (it would train a byte-identical model); 'retrain --force' "
                                    "trains anyway")
    min_signals: int = _setting(30, "fewest validation signals a threshold needs for confidence_threshold = 'auto'",
                                min=1, max=1_000_000)

    # --- Bar sources: the MetaTrader 5 terminal, and checks every source's bars pass (issue 3) ---
    # AUTOTRAINER_MT5_PATH / _LOGIN / _PASSWORD / _SERVER set these like any other setting.
    mt5_path: str = _setting("", "terminal64.exe to start or attach to (empty: whichever running terminal the "
                             "package finds; needed when more than one terminal is installed)",
                             optional=True)
    mt5_login: int = _setting(0, "trading account number (0: the account the terminal is logged in to)", min=0, max=2**63 - 1)
    mt5_password: str = _setting("", "password for mt5_login; never logged, echoed or recorded", secret=True,
                                 optional=True)
    mt5_server: str = _setting("", "trade server of mt5_login, e.g. 'MetaQuotes-Demo'", optional=True)
    mt5_timeout_ms: int = _setting(60_000, "how long initialize() may wait for the terminal", min=1000, max=600_000)
    mt5_attempts: int = _setting(3, "tries for a transient MetaTrader 5 failure (terminal starting, history loading)", min=1, max=10)
    mt5_retry_seconds: float = _setting(2.0, "wait before the first retry; doubled for each further one", min=0.0, max=300.0)
    max_bar_age_hours: float = _setting(
        48.0, "refuse to train when the newest bar is older than this many market hours (weekends and holidays "
        "do not count)", min=0.25, max=100_000.0)
    allow_stale_data: bool = _setting(False, "train even when the newest bar is older than max_bar_age_hours")
    check_server_clock: bool = _setting(
        True, "check server_timezone against the 17:00 New York weekly close of FX and metals; turn off for "
        "symbols that close at another time")

    def bars_and_rounds(self, training_type: str) -> tuple[int, int]:
        """The seed's table: how many bars and boosting rounds each training type uses."""
        if training_type not in TRAINING_TYPES:
            raise ConfigError(f"training type {training_type!r} is not one of {', '.join(TRAINING_TYPES)}")
        return getattr(self, f"{training_type}_bars"), getattr(self, f"{training_type}_rounds")

    @property
    def fixed_confidence_threshold(self) -> float:
        """The number set, or under 'auto' the default: what 'auto' falls back to when no grid threshold has
        min_signals signals on the validation slice."""
        if isinstance(self.confidence_threshold, str):
            return DEFAULT_CONFIDENCE_THRESHOLD
        return float(self.confidence_threshold)

    @property
    def timeframe_minutes(self) -> int:
        return TIMEFRAME_MINUTES[self.timeframe]

    def public_dict(self) -> dict[str, Any]:
        """Settings as plain JSON-able values, for manifests (copied into backups, events and the history).

        The database address and the MetaTrader 5 account are left out, not masked: a manifest travels, and
        a mask misses forms nobody foresaw. What kind of database it was, and whether an account was set, stay.
        """
        public = {k: str(v) if isinstance(v, Path) else v
                  for k, v in dataclasses.asdict(self).items() if k not in UNRECORDED}
        return public | {"database": database_kind(self.database_url), "mt5_login_set": bool(self.mt5_login),
                         "mt5_password_set": bool(self.mt5_password)}

    def secrets(self) -> set[str]:
        """Every credential these settings hold, for the filter that keeps them out of logs and output."""
        found = url_secrets(self.database_url) | {self.mt5_password}
        return {text for text in found if text} | ({str(self.mt5_login)} if self.mt5_login else set())


# Settings no manifest, run record or event ever holds: addresses and credentials.
UNRECORDED = ("database_url", "mt5_login", "mt5_password")


# Settings renamed for honesty: old name -> new name. The old names keep working (TOML, environment, overrides).
RENAMED_SETTINGS = {"rollback_auc_threshold": "publish_floor_auc"}
SETTING_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if not f.metadata.get("internal")}
_FIELD_TYPES = {"Path": Path, "str": str, "int": int, "float": float, "bool": bool, "tuple[str, ...]": tuple,
                "float | str": float}  # a number, or the one word in the setting's `word` rule


def load_settings(
    config_path: Path | str | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | str | None = None,
) -> Settings:
    """Build the settings from every layer; raise ConfigError naming the setting and its origin.

    `home` (--home) beats AUTOTRAINER_HOME; without either it is the current directory. The default config
    file is `autotrainer.toml` in the home folder.
    """
    env = os.environ if env is None else env
    drop_deferred()
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    bases: dict[str, Path] = {}
    home_dir = _home(home, env)

    path = _config_file(config_path, env, home_dir)
    if path is not None:
        for key, raw in _read_toml(path).items():
            key = _current_name(key, f"{path}")
            _check_known(key, f"{path}")
            values[key], origins[key], bases[key] = raw, f"{path}", path.resolve().parent
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV:
            continue
        key = _current_name(name[len(ENV_PREFIX):].lower(), f"environment variable {name}")
        _check_known(key, f"environment variable {name}")
        values[key], origins[key], bases[key] = raw, f"environment variable {name}", home_dir
    for key, raw in (overrides or {}).items():
        if raw is None:
            continue
        key = _current_name(key, "command line")
        _check_known(key, "command line")
        values[key], origins[key], bases[key] = raw, "command line", Path.cwd()

    parsed = {key: _coerce(key, raw, origins[key]) for key, raw in values.items()}
    for key in PATH_SETTINGS:
        value = parsed.get(key, SETTING_FIELDS[key].default)
        parsed[key] = _resolved(key, value, bases.get(key, home_dir))
    settings = Settings(home=home_dir, **parsed)
    _check_consistency(settings, origins)
    for key in FOLDER_SETTINGS:
        _check_folder(key, getattr(settings, key), origins.get(key, "the default"))
    return settings


def _check_folder(key: str, path: Path, origin: str) -> None:
    """A folder setting must name a folder, or a place one can be made: not a file, nor a path through one.
    Checked without creating anything (looking creates nothing)."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is None:
        return
    if not existing.is_dir():
        problem = "it exists and is not a folder" if existing == path else f"{existing} on its way is not a folder"
    elif existing != path and not os.access(existing, os.W_OK | os.X_OK):
        problem = f"it cannot be created: no permission to write in {existing}"
    else:
        return
    raise ConfigError(f"setting '{key}' = {str(path)!r} (from {origin}) is not allowed: {problem}")


def _home(home: Path | str | None, env: Mapping[str, str]) -> Path:
    """The folder relative paths mean: --home, else AUTOTRAINER_HOME, else the current directory."""
    origin, raw = ("--home", home) if home is not None else (HOME_ENV, env.get(HOME_ENV) or None)
    if raw is None:
        return Path.cwd()
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ConfigError(f"{origin} {raw} is not a folder")
    return path.resolve()


def _resolved(key: str, value: Any, base: Path) -> Any:
    """A path setting made absolute against `base` (empty log_file and source names stay as they are)."""
    if key == "source" and value in SOURCE_NAMES:
        return value
    if key == "log_file" and not value:
        return value
    path = Path(value).expanduser()
    resolved = path if path.is_absolute() else base / path
    return resolved if isinstance(value, Path) else str(resolved)


def _config_file(config_path: Path | str | None, env: Mapping[str, str], home: Path) -> Path | None:
    if config_path is not None:
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if env.get("AUTOTRAINER_CONFIG"):
        path = Path(env["AUTOTRAINER_CONFIG"])
        if not path.is_absolute():
            path = home / path
        if not path.is_file():
            raise ConfigError(f"config file {path} (from AUTOTRAINER_CONFIG) does not exist")
        return path
    default = home / CONFIG_FILE_NAME
    return default if default.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))  # Notepad's "UTF-8 with BOM" is UTF-8 too
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text ({_encoding_hint(raw, exc)}); save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is not valid TOML for settings: it is nested too deeply") from None
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(
                f"config file {path}: [{key}] is a table, but settings are plain top-level keys "
                f"(for example `models_dir = \"models\"`)"
            )
    return data


def _encoding_hint(raw: bytes, exc: UnicodeDecodeError) -> str:
    """What the bytes look like instead: UTF-16 (Notepad's 'Unicode'), binary, or another 8-bit code page."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or raw[:200].count(b"\x00") * 4 > len(raw[:200]):
        return "it looks like UTF-16, Notepad's 'Unicode'"
    if b"\x00" in raw:
        return "it looks like a binary file"
    return f"byte 0x{raw[exc.start]:02x} at position {exc.start}; Windows-1252 or Latin-1?"


def _current_name(key: str, origin: str) -> str:
    """The setting's name today: an old name still works, with a one-line note in the log."""
    if key in RENAMED_SETTINGS:
        new = RENAMED_SETTINGS[key]
        defer_warning(f"Setting '{key}' (from {origin}) is now called '{new}'; the old name still works")
        return new
    return key


def _check_known(key: str, origin: str) -> None:
    if key == "home":
        raise ConfigError(f"'home' (from {origin}) is not a setting: set the folder with {HOME_ENV} or --home")
    if key in SETTING_FIELDS:
        return
    close = difflib.get_close_matches(key, SETTING_FIELDS, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f"; known settings: {', '.join(SETTING_FIELDS)}"
    raise ConfigError(f"unknown setting '{key}' (from {origin}){hint}")


def _describe_rules(meta: Mapping[str, Any], kind: type) -> str:
    if "choices" in meta:
        return "one of " + ", ".join(meta["choices"])
    if "word" in meta:
        return f"a {kind.__name__} from {meta['min']} to {meta['max']}, or '{meta['word']}'"
    if meta.get("positive"):
        return f"a {kind.__name__} above {meta['min']} up to {meta['max']} (leave it out to derive it)"
    if "min" in meta:
        return f"{'an' if kind is int else 'a'} {kind.__name__} from {meta['min']} to {meta['max']}"
    if kind is bool:
        return "true or false"
    if kind is tuple:
        return "a list of 'package.module:function' names (in the environment: comma-separated)"
    return "a path (text in quotes)" if kind is Path else "text (in quotes)" if kind is str else f"a {kind.__name__}"


def _coerce(key: str, raw: Any, origin: str) -> Any:
    spec = SETTING_FIELDS[key]
    kind = _FIELD_TYPES[spec.type]
    meta = spec.metadata
    shown = "<hidden>" if meta.get("secret") else repr(raw)
    bad = ConfigError(
        f"setting '{key}' = {shown} (from {origin}) is not allowed: expected {_describe_rules(meta, kind)}"
    )
    if "word" in meta and isinstance(raw, str) and raw.strip().lower() == meta["word"]:
        return meta["word"]
    value = _parse(raw, kind)
    if value is None or (meta.get("positive") and value <= meta["min"]):
        raise bad
    if "choices" in meta:
        value = str(value).upper() if key == "timeframe" else value
        if value not in meta["choices"]:
            raise bad
    if "min" in meta and not (meta["min"] <= value <= meta["max"]):
        raise bad
    if key == "server_timezone":
        parse_server_clock(value, origin=f"setting 'server_timezone' (from {origin})")
    if kind is str and not str(value).strip() and (str(value) or not meta.get("optional")):  # "" only if optional
        raise bad
    if "item_pattern" in meta:
        _check_items(key, value, meta["item_pattern"], origin)
    return value


def _check_items(key: str, items: tuple[str, ...], pattern: re.Pattern[str], origin: str) -> None:
    """Each entry of a list setting must have the documented shape and appear once."""
    for item in items:
        if not pattern.match(item):
            raise ConfigError(
                f"setting '{key}' (from {origin}): {item!r} is not a 'package.module:function' name"
            )
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise ConfigError(f"setting '{key}' (from {origin}) lists {', '.join(repeated)} more than once")


def _parse(raw: Any, kind: type) -> Any:
    """Convert a TOML value or an environment string to `kind`; None when it cannot be. Text is parsed (the
    environment has nothing else); any other value must already be of the setting's type, so a TOML
    `models_dir = true` or `symbol = [1, 2]` is refused instead of becoming the text 'True' or '[1, 2]'."""
    if not isinstance(raw, (str, os.PathLike)) and not _typed_as(raw, kind):
        return None
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        return {"true": True, "1": True, "yes": True, "on": True,
                "false": False, "0": False, "no": False, "off": False}.get(text)
    if kind is int:
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, float):
            return int(raw) if raw.is_integer() else None
        try:
            return int(str(raw).strip().replace("_", ""))
        except ValueError:
            return None
    if kind is float:
        if isinstance(raw, bool):
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return None
        return value if value == value else None  # reject NaN
    if kind is Path:
        return Path(raw) if str(raw).strip() else None
    if kind is tuple:
        if isinstance(raw, str):
            raw = raw.split(",")
        if not isinstance(raw, (list, tuple)) or not all(isinstance(item, str) for item in raw):
            return None
        return tuple(item.strip() for item in raw if item.strip())
    return str(raw)  # text or a path


def _typed_as(raw: Any, kind: type) -> bool:
    """Whether a value that is not text is of `kind` (an int is a float; a whole float is an int)."""
    if isinstance(raw, bool) or kind is bool:
        return isinstance(raw, bool) and kind is bool
    if kind is int:
        return isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())
    if kind is float:
        return isinstance(raw, (int, float))
    return kind is tuple and isinstance(raw, (list, tuple))


def _check_consistency(settings: Settings, origins: Mapping[str, str]) -> None:
    def origin(*keys: str) -> str:
        found = [f"{k} from {origins[k]}" for k in keys if k in origins]
        return f" ({'; '.join(found)})" if found else ""

    if settings.publish_floor_auc > settings.min_auc_threshold:
        raise ConfigError(
            f"setting 'publish_floor_auc' = {settings.publish_floor_auc} must not exceed "
            f"'min_auc_threshold' = {settings.min_auc_threshold}"
            + origin("publish_floor_auc", "min_auc_threshold")
        )
    if not settings.builtin_features and not settings.features:
        raise ConfigError(
            "setting 'builtin_features' = false leaves the model no features: name at least one function in 'features'"
            + origin("builtin_features", "features")
        )
    if settings.use_db and settings.database_url:
        problem = database_url_problem(settings.database_url)
        if problem:
            shown = f" = {mask_password(settings.database_url)}" if "://" in settings.database_url else ""
            raise ConfigError(f"setting 'database_url'{shown}{origin('database_url')} {problem}")  # no scheme: no mask
    if settings.hmm_lookback >= settings.min_bars:
        raise ConfigError(
            f"setting 'hmm_lookback' = {settings.hmm_lookback} must be smaller than 'min_bars' = {settings.min_bars}"
            + origin("hmm_lookback", "min_bars")
        )


def database_url_problem(url: str) -> str | None:
    """Why a database URL can never work (no scheme, a database we do not support, a driver that is not
    installed), or None: such a URL is a bad setting, not an outage to queue runs behind. Checked without
    importing SQLAlchemy, so a `check` with nothing due stays light."""
    from importlib.util import find_spec

    match = _URL_SCHEME_RE.match(url)
    if match is None:
        return ("is not a database URL (e.g. postgresql+psycopg2://user:pass@host:5432/db or "
                "sqlite:///data/autotrainer.db)")
    port = _URL_PORT_RE.match(url[match.end():]).group(1)  # type: ignore[union-attr] - always matches
    if port is not None and not port.isdigit():
        return f"has port {port!r}, which is not a number"
    dialect, driver = match.group(1).lower(), match.group(2)
    drivers = DATABASE_DRIVERS.get("postgresql" if dialect == "postgres" else dialect)
    if drivers is None:
        return f"names database '{dialect}': only postgresql and sqlite are supported"
    if driver not in drivers:
        usable = ", ".join(name for name in drivers if name)
        return f"names driver '{driver}', which autotrainer cannot use with {dialect} (use {usable} or none)"
    if not any(find_spec(module) for module in drivers[driver]):
        return (f"needs driver '{driver or drivers[None][-1]}', which is not installed; autotrainer ships psycopg2: "
                "use postgresql+psycopg2:// or postgresql://")
    return None
