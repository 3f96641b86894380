"""The out-of-distribution guard and the drift figures: how unlike its training rows a model's inputs are.

A tree model extrapolates flat outside its training range and still emits confident probabilities. The
guard keeps, per model input column, a compact summary of the fit slice's rows (no rows): the 1st and 99th
percentiles, how far the rows reached beyond them (the tails), and the deciles with the share of rows in
each (for the population stability index). A row's score is how far its furthest column lies beyond the
1st-99th percentile range, in units of that column's own tail (0 inside; 1: as far as the furthest training
row went), so one input beyond anything the trees saw is enough, and heavy-tailed columns weigh no more
than others. The threshold is the score 99% of the
validation slice's rows stay under. Training calibrates and the bot serves with the same `guard_scores`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from autotrainer.errors import ModelStoreError

GUARD_FORMAT = "autotrainer-guard/1"
RANGE_PERCENTILES = (1.0, 99.0)  # the range of each column the trees saw (the extremes are single rows)
MIN_TAIL = 0.05  # a tail shorter than this share of the range counts as this long (a bounded column's edge)
THRESHOLD_PERCENTILE = 99.0  # of the validation rows' scores: about 1% of in-distribution rows are withheld
PSI_BINS = 10  # quantile bins of the training rows
PSI_DRIFTED = 0.2  # a column whose PSI exceeds this has drifted (the usual rule of thumb)
PSI_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite
MIN_DRIFT_BARS = 100  # fewer new bars and the PSI is noise: no drift figures
SIGNIFICANT = 7  # digits kept in the stored summary (training and serving both use the rounded one)


def _round(values: Any) -> list[float]:
    return [float(f"{float(v):.{SIGNIFICANT}g}") for v in values]


def fit_guard(fit_rows: Any, validation_rows: Any) -> dict[str, Any]:
    """The summary of the fit slice's model inputs and the threshold calibrated on the validation slice."""
    import numpy as np

    values = fit_rows.to_numpy(dtype="float64")
    low, high = np.nanpercentile(values, RANGE_PERCENTILES, axis=0)
    floor = np.maximum(MIN_TAIL * (high - low), 1e-12)
    below = np.maximum(low - np.nanmin(values, axis=0), floor)
    above = np.maximum(np.nanmax(values, axis=0) - high, floor)
    columns: dict[str, Any] = {}
    for j, name in enumerate(fit_rows.columns):
        present = values[:, j][~np.isnan(values[:, j])]
        quantiles = np.nanpercentile(present, np.linspace(0, 100, PSI_BINS + 1)[1:-1]) if len(present) else []
        edges = np.unique(_round(quantiles))  # rounded before the shares are counted: serving bins with these
        shares = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1) / max(1, len(present))
        columns[name] = {"low": _round([low[j]])[0], "high": _round([high[j]])[0], "below": _round([below[j]])[0],
                         "above": _round([above[j]])[0], "edges": edges.tolist(), "shares": _round(shares)}
    summary = {"format": GUARD_FORMAT, "rows": int(len(values)), "columns": columns, "threshold": 0.0}
    scores = guard_scores(summary, validation_rows)
    summary["threshold"] = _round([np.percentile(scores, THRESHOLD_PERCENTILE)])[0]
    summary["validation_rows"] = int(len(scores))
    return summary


def guard_scores(summary: dict[str, Any], rows: Any) -> Any:
    """Each row's distance beyond the training range of its furthest column, in that column's tails (0:
    inside). The one score training calibrates on and the bot serves with; a missing value counts as inside."""
    import numpy as np

    columns = summary["columns"]
    values = rows[list(columns)].to_numpy(dtype="float64")
    low, high, below, above = (np.array([c[key] for c in columns.values()]) for key in ("low", "high", "below", "above"))
    outside = np.fmax(np.fmax((values - high) / above, (low - values) / below), 0.0)  # fmax: NaN counts as inside
    return np.nan_to_num(outside.max(axis=1) if outside.shape[1] else np.zeros(len(values)))


def withheld(summary: dict[str, Any] | None, scores: Any) -> Any:
    """Which scores the guard withholds the signal for (none without a summary)."""
    import numpy as np

    if summary is None:
        return np.zeros(len(scores), dtype=bool)
    return np.asarray(scores) > summary["threshold"]


def bins_of(summary: dict[str, Any], rows: Any) -> Any:
    """Each row's quantile bin of the training rows, per column (-1 where the value is missing): what the
    PSI counts, kept by the replay for every bar so a window's PSI is a count."""
    import numpy as np

    values = rows[list(summary["columns"])].to_numpy(dtype="float64")
    bins = np.full(values.shape, -1, dtype=np.int8)
    for j, column in enumerate(summary["columns"].values()):
        present = ~np.isnan(values[:, j])
        bins[present, j] = np.searchsorted(np.array(column["edges"]), values[present, j], side="right")
    return bins


def psi(summary: dict[str, Any], bins: Any) -> dict[str, float]:
    """Population stability index of each column against the training rows' quantile bins (`bins_of`)."""
    import numpy as np

    result = {}
    for j, (name, column) in enumerate(summary["columns"].items()):
        present = bins[:, j][bins[:, j] >= 0]
        if not len(present):
            continue
        expected = np.maximum(np.array(column["shares"]), PSI_FLOOR)
        actual = np.maximum(np.bincount(present, minlength=len(expected)) / len(present), PSI_FLOOR)
        result[name] = round(float(np.sum((actual - expected) * np.log(actual / expected))), 6)
    return result


def drift(summary: dict[str, Any] | None, bins: Any, scores: Any) -> dict[str, Any]:
    """The drift figures of new rows (their `bins_of`, and guard scores): PSI per column, the share of columns
    above PSI_DRIFTED, and the share of rows the guard withheld. Without a summary, or with too few rows, the
    figures are None (and why)."""
    empty = {"drift_bars": int(len(bins)), "drift_share": None, "drifted": [], "psi_max": None,
             "guard_withheld_share": None, "psi": {}}
    if summary is None:
        return {**empty, "drift_note": "the model has no guard summary (trained before the guard existed)"}
    if len(bins) < MIN_DRIFT_BARS:
        return {**empty, "drift_note": f"{len(bins)} bars since training; drift needs at least {MIN_DRIFT_BARS}"}
    values = psi(summary, bins)
    drifted = sorted((n for n, v in values.items() if v > PSI_DRIFTED), key=lambda n: -values[n])
    return {"drift_bars": int(len(bins)), "drift_share": round(len(drifted) / max(1, len(values)), 6),
            "drifted": drifted, "psi_max": max(values.values(), default=None),
            "guard_withheld_share": round(float(withheld(summary, scores).mean()), 6), "psi": values,
            "drift_note": None}


def guard_bytes(summary: dict[str, Any]) -> bytes:
    """The summary as the pair's guard file (JSON: no pickle, covered by the manifest's checksums)."""
    return json.dumps(summary, separators=(",", ":")).encode("utf-8")


def guard_from_bytes(raw: bytes, features: list[str]) -> dict[str, Any]:
    """The summary from its verified file; ModelStoreError when it is not one this version can serve (or
    judges columns the model does not read)."""
    try:
        summary = json.loads(raw.decode("utf-8"))
        columns = summary["columns"]
        usable = (summary.get("format") == GUARD_FORMAT and isinstance(columns, dict)
                  and _finite(summary["threshold"]) and set(columns) <= set(features)
                  and all(all(_finite(c[k]) for k in ("low", "high", "below", "above")) and c["below"] > 0
                          and c["above"] > 0 and len(c["shares"]) == len(c["edges"]) + 1
                          for c in columns.values()))
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ModelStoreError(f"the guard summary cannot be read ({type(exc).__name__}: {exc})") from None
    if not usable:
        raise ModelStoreError("the guard summary is not an autotrainer guard summary")
    return summary


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
