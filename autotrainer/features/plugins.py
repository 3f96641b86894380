"""The feature set a model uses: the built-in columns and the operator's own functions ("plugins").

A plugin is named `package.module:function`. It receives a copy of the validated bars (time in UTC,
open/high/low/close, tick_volume, spread, real_volume; index 0..n-1) and returns a DataFrame of new
numeric columns on the same index. Anything else is a ConfigError naming the function and the problem,
because a silently misaligned or non-numeric column would train a model on garbage.

`FeatureSpec` is stored in the manifest, so the live bot recomputes exactly the columns the model was
trained on. Causality of every column is proven by `autotrainer.features.audit` on each retrain, not trusted.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from autotrainer.errors import ConfigError, ModelStoreError
from autotrainer.features import OBSERVATION_COLUMNS, compute_features
from autotrainer.features.technical import technical_features

BUILTIN = "built-in"
# With the built-ins off, the HMM still needs its two observation columns; they are computed under
# this producer name and kept out of the model's inputs.
REGIME_INPUTS = "built-in (regime inputs only)"
# Names the rest of the pipeline already uses for something else.
RESERVED_COLUMNS = {"time", "target", "p_up"}
# XGBoost refuses feature names containing these characters.
FORBIDDEN_NAME_CHARACTERS = "[]<"


@dataclass(frozen=True)
class FeatureSpec:
    """Which features a model is trained on: the built-ins (or not) plus plugin functions, in order."""

    builtin: bool = True
    plugins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Any) -> "FeatureSpec":
        return cls(builtin=settings.builtin_features, plugins=tuple(settings.features))

    @classmethod
    def from_manifest(cls, data: Any) -> "FeatureSpec":
        """The spec a published model was trained with; a manifest without one predates plugins: built-ins only."""
        if data is None:
            return cls()
        if (not isinstance(data, dict) or not isinstance(data.get("builtin"), bool)
                or not isinstance(data.get("plugins"), list) or not all(isinstance(p, str) for p in data["plugins"])):
            raise ModelStoreError(f"the manifest's feature_spec is malformed: {data!r}")
        return cls(builtin=data["builtin"], plugins=tuple(data["plugins"]))

    def to_manifest(self) -> dict[str, Any]:
        """The spec plus a fingerprint of each plugin's source, so a later edit of the code is noticed."""
        return {"builtin": self.builtin, "plugins": list(self.plugins),
                "plugin_sources": {name: source_fingerprint(name) for name in self.plugins}}

    def changed_plugins(self, recorded: dict[str, Any] | None) -> list[str]:
        """Plugins whose source differs from the fingerprints recorded at training time."""
        fingerprints = (recorded or {}).get("plugin_sources", {})
        return [name for name in self.plugins if name in fingerprints and fingerprints[name] != source_fingerprint(name)]

    @property
    def base_producer(self) -> str:
        return BUILTIN if self.builtin else REGIME_INPUTS

    def base_features(self, bars: pd.DataFrame) -> pd.DataFrame:
        """The built-in columns, or with the built-ins off only the two the HMM observes."""
        if self.builtin:
            return compute_features(bars)
        inputs = technical_features(bars)
        return pd.DataFrame({c: inputs[c] for c in OBSERVATION_COLUMNS}, index=bars.index)

    def compute(self, bars: pd.DataFrame) -> pd.DataFrame:
        """All feature columns (built-in first, then each plugin's, in order) on the bars' index."""
        base = self.base_features(bars)
        parts, taken = [base], set(bars.columns) | RESERVED_COLUMNS | set(base.columns)
        for name in self.plugins:
            columns = run_plugin(name, bars, taken)
            taken |= set(columns.columns)
            parts.append(columns)
        return base if len(parts) == 1 else pd.concat(parts, axis=1)

    def model_columns(self, columns: list[str]) -> list[str]:
        """The computed columns the model trains on: all of them, minus the regime-only inputs when built-ins are off."""
        if self.builtin:
            return list(columns)
        return [c for c in columns if c not in OBSERVATION_COLUMNS]


def import_from_home(home: Path) -> None:
    """Let `features` name plugin modules kept in the home folder: the home goes last on sys.path (an
    installed package of the same name wins), so they import from any working directory."""
    if str(home) not in sys.path:
        sys.path.append(str(home))


def load_plugin(name: str) -> Callable[[pd.DataFrame], Any]:
    """Import `package.module:function`; modules are looked up on sys.path, then in the working directory."""
    module_name, _, function_name = name.partition(":")
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:  # last, so an installed package of the same name wins
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the operator's module may fail in any way while importing
        raise ConfigError(f"feature plugin '{name}' (setting 'features'): cannot import module "
                          f"'{module_name}': {type(exc).__name__}: {exc}") from None
    finally:
        if added:
            sys.path.remove(cwd)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(f"feature plugin '{name}' (setting 'features'): module '{module_name}' has no function "
                          f"'{function_name}'")
    return function


def source_fingerprint(name: str) -> str:
    """SHA-256 of the plugin function's source text ('unavailable' when Python cannot show it)."""
    import hashlib
    import inspect

    try:
        text = inspect.getsource(load_plugin(name))
    except (OSError, TypeError):
        return "unavailable"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_plugin(name: str, bars: pd.DataFrame, taken: set[str]) -> pd.DataFrame:
    """Call one plugin on a copy of the bars and enforce the contract; its columns as float64."""
    function = load_plugin(name)
    try:
        result = function(bars.copy())
    except Exception as exc:  # any failure inside operator code is reported, never a traceback
        raise ConfigError(f"feature plugin '{name}' failed on {len(bars)} bars: {type(exc).__name__}: {exc}") from None
    return _checked(name, result, bars, taken)


def _checked(name: str, result: Any, bars: pd.DataFrame, taken: set[str]) -> pd.DataFrame:
    def problem(text: str) -> ConfigError:
        return ConfigError(f"feature plugin '{name}' {text}")

    if not isinstance(result, pd.DataFrame):
        raise problem(f"returned {type(result).__name__}, not a pandas DataFrame of new columns")
    if len(result) != len(bars):
        raise problem(f"returned {len(result)} rows for {len(bars)} bars; return one row per bar")
    if not result.index.equals(bars.index):
        raise problem("returned a DataFrame whose index is not the bars' index (0..n-1); build it with "
                      "index=bars.index and do not sort, filter or reset it")
    if result.shape[1] == 0:
        raise problem("returned no columns")
    names = list(result.columns)
    bad_names = [repr(c) for c in names if not isinstance(c, str) or not c.strip()
                 or any(ch in c for ch in FORBIDDEN_NAME_CHARACTERS)]
    if bad_names:
        raise problem(f"returned column name(s) {', '.join(bad_names)}; names must be non-empty strings without "
                      f"{', '.join(FORBIDDEN_NAME_CHARACTERS)}")
    repeated = sorted({c for c in names if names.count(c) > 1})
    clashing = sorted(set(names) & taken)
    if repeated or clashing:
        raise problem(f"returned column name(s) already in use: {', '.join(repeated + clashing)}; rename them")
    non_numeric = [f"{c} ({result[c].dtype})" for c in names
                   if not (pd.api.types.is_numeric_dtype(result[c]) or pd.api.types.is_bool_dtype(result[c]))
                   or pd.api.types.is_complex_dtype(result[c])]
    if non_numeric:
        raise problem(f"returned non-numeric column(s): {', '.join(non_numeric)}")
    values = result.astype("float64")
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        row, col = np.argwhere(infinite)[0]
        raise problem(f"returned infinite values in column '{names[col]}' ({int(infinite[:, col].sum())} bars, first at "
                      f"{bars['time'].iloc[row]:%Y-%m-%d %H:%M} UTC); return NaN where the indicator is undefined")
    return values
