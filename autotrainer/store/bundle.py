"""The published model pair as one object: loaded only from files that verify against the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from autotrainer.errors import ModelStoreError
from autotrainer.features.plugins import FeatureSpec
from autotrainer.models.inputs import design_matrix, feature_rows
from autotrainer.models.regime import RegimeModel
from autotrainer.store import pairs as store


@dataclass
class ModelBundle:
    """A verified pair: the XGBoost booster, the regime model and the manifest that describes them."""

    manifest: dict[str, Any]
    booster: Any
    regime: RegimeModel
    directory: Path
    raw: dict[str, bytes]  # the verified file contents the two models were built from
    guard: dict[str, Any] | None = None  # the out-of-distribution guard's summary (None: a pair from before it)

    @property
    def features(self) -> list[str]:
        return list(self.manifest["features"])

    @property
    def feature_spec(self) -> FeatureSpec:
        """How the model's features are computed (built-ins and plugins), as recorded at training time."""
        return FeatureSpec.from_manifest(self.manifest.get("feature_spec"))

    def probabilities(self, bars: pd.DataFrame) -> pd.DataFrame:
        """P(up) and regime probabilities for every bar after warm-up (bars must be validated, UTC), and the
        guard's score (models.guard) when the pair has a guard."""
        return self.scored(bars)[1]

    def scored(self, bars: pd.DataFrame, guard_rows: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The model's input rows and `probabilities` of them, for callers that judge the inputs too; the guard
        scores only the last `guard_rows` rows when given (the bot needs the newest one: NaN before it)."""
        from autotrainer.models.guard import guard_scores
        from autotrainer.models.signal import predict

        matrix = design_matrix(feature_rows(bars, self.feature_spec), self.regime, self.features)
        result = matrix[self.regime.feature_names].copy()
        result.insert(0, "p_up", predict(self.booster, matrix))
        result.insert(0, "time", bars["time"].loc[matrix.index])
        if self.guard is not None:
            result["guard_score"] = float("nan")
            judged = slice(-guard_rows if guard_rows else None, None)
            result.iloc[judged, result.columns.get_loc("guard_score")] = guard_scores(self.guard, matrix.iloc[judged])
        return matrix, result


def bundle_from_bytes(directory: Path, manifest: dict[str, Any], contents: dict[str, bytes]) -> ModelBundle:
    """Build the pair from bytes that were already verified against the manifest (no second read)."""
    import xgboost as xgb

    from autotrainer.models.guard import guard_from_bytes

    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(contents["xgboost"]))
        regime = RegimeModel.from_json(contents["hmm"].decode("utf-8"))
        guard = guard_from_bytes(contents["guard"], list(manifest["features"])) if "guard" in contents else None
    except (xgb.core.XGBoostError, ValueError, KeyError, ModelStoreError) as exc:
        raise ModelStoreError(f"model files in {directory} cannot be loaded: {exc}") from None
    return ModelBundle(manifest, booster, regime, directory, contents, guard)


def load_bundle(directory: Path) -> ModelBundle:
    """Load and verify the pair described by `directory/manifest.json`; ModelStoreError on any mismatch."""
    state = store.active_state(directory)
    if state.broken:
        raise ModelStoreError(state.problem)
    if state.manifest is None:
        raise ModelStoreError(f"no published model in {directory} (no {store.MANIFEST})")
    return bundle_from_bytes(directory, state.manifest, state.contents)


def reproduces(directory: Path, manifest: dict[str, Any], regime: RegimeModel, rows: pd.DataFrame,
               expected: Any) -> bool:
    """Whether the staged files, loaded exactly as the bot will load them, give back the evaluated model."""
    import numpy as np

    from autotrainer.models.signal import predict

    bundle = bundle_from_bytes(directory, manifest, store.read_verified(directory, manifest))
    same_regime = bundle.regime.to_json() == regime.to_json()
    return same_regime and bool(np.allclose(predict(bundle.booster, rows), expected, rtol=0, atol=1e-7))
