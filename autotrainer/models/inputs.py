"""The one code path that turns bars into model inputs.

Training, evaluation, the champion comparison and the live bot all go through `feature_rows` and
`design_matrix`, with the `FeatureSpec` stored in the manifest, so the features a model is scored on
(plugged-in ones included) can never drift from the features it was trained on.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from autotrainer.errors import ModelStoreError
from autotrainer.features import WARMUP_BARS
from autotrainer.features.plugins import FeatureSpec
from autotrainer.models.regime import RegimeModel, regime_probabilities

PROBE_BARS = 600  # enough bars for every built-in window and most plugins to produce their columns


def feature_rows(bars: pd.DataFrame, spec: FeatureSpec = FeatureSpec()) -> pd.DataFrame:
    """All features of `spec` for the bars, minus the warm-up rows whose indicators are not yet defined."""
    return spec.compute(bars).iloc[WARMUP_BARS:]


def design_matrix(features: pd.DataFrame, regime: RegimeModel, columns: list[str] | None = None) -> pd.DataFrame:
    """Features plus forward-filtered regime probabilities, in the model's column order."""
    matrix = pd.concat([features, regime_probabilities(regime, features)], axis=1)
    if columns is None:
        return matrix
    missing = [c for c in columns if c not in matrix.columns]
    if missing:
        raise ModelStoreError(f"the model needs feature(s) this version does not compute: {', '.join(missing)}")
    return matrix[columns]


def missing_features(manifest: dict[str, Any]) -> list[str]:
    """Features a manifest's model needs that this version cannot compute (empty when it can serve it).

    Computes the manifest's own feature set (plugins included) on a slice of the bundled bars and
    compares column names, so a model from an older version or with a plugin that no longer imports is
    recognised before anyone relies on it.
    """
    from autotrainer.errors import ConfigError

    try:
        spec = FeatureSpec.from_manifest(manifest.get("feature_spec"))
        computable = set(_builtin_columns(spec.builtin) if not spec.plugins else _computed_columns(spec))
    except (ConfigError, ModelStoreError) as exc:
        return [f"its feature set ({exc})"]
    computable |= {f"regime_p_{name}" for name in manifest.get("regime", {}).get("states", [])}
    return [f for f in manifest.get("features", []) if f not in computable]


def _computed_columns(spec: FeatureSpec) -> list[str]:
    """The columns `spec` computes on a slice of the bundled bars."""
    from autotrainer.data.bundled import SAMPLE_PATH

    probe = pd.read_csv(SAMPLE_PATH, nrows=PROBE_BARS, parse_dates=["time"])
    probe["time"] = probe["time"].dt.tz_localize("UTC")
    return list(spec.compute(probe).columns)


@functools.lru_cache(maxsize=2)
def _builtin_columns(builtin: bool) -> tuple[str, ...]:
    """The columns of a spec without plugins: this package's code alone decides them, so once a process
    (a plugin's depend on its module and where it imports from, and are computed each time)."""
    return tuple(_computed_columns(FeatureSpec(builtin=builtin)))
