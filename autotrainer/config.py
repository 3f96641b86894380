"""Where settings come from, and their checks: defaults < autotrainer.toml (or --config) < env < flags.

The settings themselves (types, defaults, rules) are declared in `settings.py`. Every value is checked here,
once, so the pipeline never meets a nonsensical setting halfway through. Light on imports on purpose:
`autotrainer check` loads this on its fast path.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from pathlib import Path
from typing import Any, Mapping

from autotrainer.errors import ConfigError
from autotrainer.logs import defer_warning, drop_deferred
from autotrainer.masking import mask_password
from autotrainer.settings import SETTING_FIELDS, Settings
from autotrainer.timeutil import parse_server_clock

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
PATH_SETTINGS = ("models_dir", "data_dir", "log_file", "source", "dashboard_metrics_file")
OPTIONAL_PATHS = ("log_file", "dashboard_metrics_file")  # empty: switched off
SOURCE_NAMES = ("auto", "mt5", "sample")
FOLDER_SETTINGS = ("models_dir", "data_dir")

_URL_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9]*)(?:\+([A-Za-z0-9_]+))?://")
_URL_PORT_RE = re.compile(r"(?:[^:/]*(?::[^@]*)?@)?(?:\[[^/?]+\]|[^/:?]+)?(?::([^/?]*))?")  # as SQLAlchemy reads it
# The synchronous drivers each supported database can use (the module each imports as); None = the default.
DATABASE_DRIVERS = {
    "postgresql": {None: ("psycopg", "psycopg2"), "psycopg2": ("psycopg2",), "psycopg": ("psycopg",),
                   "pg8000": ("pg8000",)},
    "sqlite": {None: ("sqlite3",), "pysqlite": ("sqlite3",)},
}


# Settings the bot's own environment variables give when autotrainer's are not set (the bot's .env, issue 19).
BOT_ENV = {"telegram_bot_token": "TELEGRAM_BOT_TOKEN", "telegram_chat_id": "TELEGRAM_CHAT_ID"}
# Settings renamed for honesty: old name -> new name. The old names keep working (TOML, environment, overrides).
RENAMED_SETTINGS = {"rollback_auc_threshold": "publish_floor_auc"}
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
    for key, name in BOT_ENV.items():  # the bot's own variables, when the setting is not given otherwise
        if key not in values and env.get(name):
            values[key], origins[key], bases[key] = env[name], f"environment variable {name}", home_dir

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
    if key in OPTIONAL_PATHS and not value:
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
    if kind is tuple and "item_choices" in meta:
        return "a list of " + ", ".join(meta["item_choices"]) + " (in the environment: comma-separated)"
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
    if "item_choices" in meta and not set(value) <= set(meta["item_choices"]):
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
