"""Champion vs challenger: the candidate must do at least as well as the active model on the same bars.

Fairness matters more than the number: the active model (the champion) trained on older bars that may
overlap the candidate's test window. Only test rows from the champion's own test start onwards — bars
that never shaped the champion — are used, and both models are scored on exactly those rows, each with
features computed from its own manifest through the one shared code path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from autotrainer.evaluate import auc_with_ci
from autotrainer.features.plugins import FeatureSpec
from autotrainer.model import ModelBundle, design_matrix, feature_rows, missing_features


@dataclass(frozen=True)
class Comparison:
    champion_run_id: str
    rows: int
    champion_auc: float | None
    candidate_auc: float | None
    candidate_wins: bool
    reason: str


def compare(champion: ModelBundle, bars: pd.DataFrame, features: pd.DataFrame, spec: FeatureSpec, y: np.ndarray,
            test: slice, candidate_p: np.ndarray, tolerance: float, min_rows: int) -> Comparison:
    """Score both models on the candidate's test rows that are out of sample for the champion.

    `features` are the candidate's usable rows (computed with `spec`); the champion's are recomputed
    from its own manifest when its feature set differs.
    """
    run_id = champion.manifest["run_id"]
    missing = missing_features(champion.manifest)
    if missing:
        return Comparison(run_id, 0, None, None, True, f"champion {run_id} not scored: this version cannot compute "
                                                        f"{', '.join(missing)}")
    champion_test_start = datetime.fromisoformat(champion.manifest["data"]["test_start"])
    times = bars["time"].loc[features.index]
    fair = (times.iloc[test] >= pd.Timestamp(champion_test_start)).to_numpy()
    rows = int(fair.sum())
    if rows < min_rows:
        return Comparison(run_id, rows, None, None, True, f"champion {run_id} not compared: only {rows} test bars are "
                                                           f"out of sample for it (need {min_rows})")
    if champion.feature_spec != spec:
        features = feature_rows(bars, champion.feature_spec).loc[features.index]
    positions = np.arange(test.start, test.stop)[fair]
    context = max(0, positions[0] - champion.regime.lookback)  # the regime filter's full window for every row
    matrix = design_matrix(features.iloc[context: positions[-1] + 1], champion.regime, champion.features)
    from autotrainer.signal_model import predict

    champion_p = predict(champion.booster, matrix.iloc[positions - context])
    champion_auc = auc_with_ci(y[positions], champion_p).auc
    candidate_auc = auc_with_ci(y[positions], candidate_p[fair]).auc
    wins = bool(candidate_auc >= champion_auc - tolerance)
    verb = "at least matches" if wins else "is worse than"
    reason = (f"candidate AUC {candidate_auc:.4f} {verb} champion {run_id} AUC {champion_auc:.4f} "
              f"(tolerance {tolerance}) on the same {rows} test bars")
    return Comparison(run_id, rows, champion_auc, candidate_auc, wins, reason)
