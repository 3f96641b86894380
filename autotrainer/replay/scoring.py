"""Scoring the replay's candidates lazily: only the rows something reads.

The active model is scored as far as its live measurement has got (a block at a time), and at the end each
candidate as far as some serving uses it (summary.served: the policy, keep the first, every retrain). Scoring
every candidate to the end of the bars instead grows with the square of the window. Rows are scored
independently (each row's regime probabilities read only the `lookback` rows ending at it, XGBoost scores
each row alone), so pieces give exactly the numbers one call gives (tests/replay/test_replay_speed.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.replay.guard import fill_guard_rows
from autotrainer.timeutil import as_utc


def utc_ns(times: pd.Series) -> np.ndarray:
    """UTC times as naive datetime64[ns], the form numpy searches and compares quickly."""
    return times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def moment_ns(moment: datetime) -> np.datetime64:
    return np.datetime64(as_utc(moment).replace(tzinfo=None), "ns")


SCORE_BLOCK = 2000  # rows scored at a time for the active model's live measurement (~3 weeks of M15)


def score(rows_in_all: int, features: pd.DataFrame, trained: Any, stop: int, block: int = SCORE_BLOCK) -> None:
    """Make sure rows `first`..`stop` of a candidate (simulate.Trained) are scored, `block` rows ahead at a time."""
    if stop <= trained.scored:
        return
    stop = min(rows_in_all, max(stop, trained.scored + block))
    rows = slice(trained.scored, stop)
    inputs = _inputs(features, trained.candidate, rows)
    trained.p_up[rows], trained.regime[rows] = _scores(trained.candidate, inputs)
    fill_guard_rows(trained.guard, trained.candidate.guard, inputs, rows)
    trained.scored = stop


def score_candidate(features: pd.DataFrame, candidate: Any, rows: slice) -> tuple[np.ndarray, np.ndarray]:
    """P(up) and the most probable regime of the feature rows `rows`, in bulk. Each row's regime probabilities
    read only the `lookback` rows ending at it, and XGBoost scores each row alone, so any split into pieces
    gives the numbers one piece would (tests/replay/test_replay_speed.py)."""
    return _scores(candidate, _inputs(features, candidate, rows))


def _inputs(features: pd.DataFrame, candidate: Any, rows: slice) -> pd.DataFrame:
    """The model's inputs (features and forward-filtered regime probabilities) of the feature rows `rows`."""
    from autotrainer.models.inputs import design_matrix

    context = max(0, rows.start - candidate.regime.lookback)  # the regime filter's full window for every scored row
    matrix = design_matrix(features.iloc[context:rows.stop], candidate.regime, candidate.manifest["features"])
    return matrix.iloc[rows.start - context:]


def _scores(candidate: Any, inputs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    from autotrainer.models.signal import predict

    return predict(candidate.booster, inputs), inputs[candidate.regime.feature_names].to_numpy().argmax(axis=1)


def score_served(run: Any, features: pd.DataFrame) -> None:
    """Score each candidate as far as any serving uses it: the policy (until the next published model), keep the
    first (the first published, to the end) and every retrain (until the next candidate)."""
    closes = utc_ns(run.close_times)
    takes_over = [int(np.searchsorted(closes, moment_ns(t.available_at))) for t in run.trained]
    end = len(run.times)
    first_published = next((i for i, t in enumerate(run.trained) if t.published), None)
    for i, trained in enumerate(run.trained):
        if trained.p_up is None:
            continue
        later = range(i + 1, len(run.trained))
        stops = [next((takes_over[j] for j in later if run.trained[j].p_up is not None), end)]
        if trained.published:
            stops.append(end if i == first_published else
                         next((takes_over[j] for j in later if run.trained[j].published), end))
        score(end, features, trained, max(stops), block=0)
