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
    """SIGNIFICANT digits; + 0.0 turns -0.0 into 0.0, so tied zeros store the same whichever one a sort kept."""
    return [float(f"{float(v):.{SIGNIFICANT}g}") + 0.0 for v in values]


def fit_guard(fit_rows: Any, validation_rows: Any) -> dict[str, Any]:
    """The summary of the fit slice's model inputs and the threshold calibrated on the validation slice."""
    import numpy as np

    values = fit_rows.to_numpy(dtype="float64")
    columns: dict[str, Any] = {}
    for name, present, percentiles in zip(fit_rows.columns, *_column_percentiles(values)):
        (low, high), quantiles = percentiles[:2], percentiles[2:]
        floor = max(MIN_TAIL * (high - low), 1e-12)
        below = max(low - present[0], floor) if len(present) else floor
        above = max(present[-1] - high, floor) if len(present) else floor
        edges = np.unique(_round(quantiles))  # rounded before the shares are counted: serving bins with these
        shares = np.bincount(np.searchsorted(edges, present, side="right"), minlength=len(edges) + 1) / max(1, len(present))
        columns[name] = {"low": _round([low])[0], "high": _round([high])[0], "below": _round([below])[0],
                         "above": _round([above])[0], "edges": edges.tolist(), "shares": _round(shares)}
    summary = {"format": GUARD_FORMAT, "rows": int(len(values)), "columns": columns, "threshold": 0.0}
    scores = guard_scores(summary, validation_rows)
    summary["threshold"] = _round([np.percentile(scores, THRESHOLD_PERCENTILE)])[0]
    summary["validation_rows"] = int(len(scores))
    return summary


def _column_percentiles(values: Any) -> tuple[list[Any], list[Any]]:
    """Each column's values without the missing ones, sorted, and its percentiles: the range's two, then the
    PSI bins' inner edges (none for a column with no values). One sort for all columns, missing values last,
    and one percentile call per number of present values: NumPy's NaN-aware percentile loops over the
    columns in Python."""
    import numpy as np

    wanted = [*RANGE_PERCENTILES, *np.linspace(0, 100, PSI_BINS + 1)[1:-1]]
    ordered = np.sort(values, axis=0)
    present = (~np.isnan(values)).sum(axis=0)
    percentiles: list[Any] = [[np.nan, np.nan] for _ in range(values.shape[1])]
    for count in np.unique(present[present > 0]):
        group = np.flatnonzero(present == count)
        for j, column in zip(group, np.percentile(ordered[:count][:, group], wanted, axis=0).T):
            percentiles[j] = column
    return [ordered[: present[j], j] for j in range(values.shape[1])], percentiles


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
    return psi_of_counts(summary, bin_counts(summary, bins))


def bin_counts(summary: dict[str, Any], bins: Any) -> Any:
    """How many rows fall in each quantile bin, per column (columns x bins): all the PSI needs of the rows.
    Counts of disjoint rows add, so a sliding window's counts follow from the rows it gained and lost."""
    import numpy as np

    width = max((len(c["shares"]) for c in summary["columns"].values()), default=1)
    bins = np.asarray(bins)
    present = bins >= 0
    flat = (bins.astype(np.int64) + np.arange(bins.shape[1]) * width)[present]
    return np.bincount(flat, minlength=bins.shape[1] * width).reshape(bins.shape[1], width)


def psi_of_counts(summary: dict[str, Any], counts: Any, table: Any = None) -> dict[str, float]:
    """The PSI of each column with rows (`bin_counts`), as one array operation per number of bins: the same
    arithmetic, element by element, as one column at a time, at a fraction of the calls. `table` is
    `psi_table(summary)`, for a caller that measures one model many times."""
    import numpy as np

    names = list(summary["columns"])
    rows = counts.sum(axis=1)
    result: dict[str, float] = {}
    for group, shares in table if table is not None else psi_table(summary):
        counted = rows[group] > 0
        group, expected = group[counted], shares[counted]
        actual = np.maximum(counts[group, : shares.shape[1]] / rows[group, None], PSI_FLOOR)
        values = np.sum((actual - expected) * np.log(actual / expected), axis=1)
        result.update((names[j], round(float(v), 6)) for j, v in zip(group.tolist(), values))
    return {name: result[name] for name in names if name in result}


def psi_table(summary: dict[str, Any]) -> list[tuple[Any, Any]]:
    """The columns grouped by their number of bins, with their training shares (floored): (column indices,
    shares as rows)."""
    import numpy as np

    columns = list(summary["columns"].values())
    table = []
    for width in sorted({len(c["shares"]) for c in columns}):
        group = np.array([j for j, c in enumerate(columns) if len(c["shares"]) == width])
        table.append((group, np.maximum(np.array([columns[j]["shares"] for j in group]), PSI_FLOOR)))
    return table


def drift(summary: dict[str, Any] | None, bins: Any, scores: Any) -> dict[str, Any]:
    """The drift figures of new rows (their `bins_of`, and guard scores): PSI per column, the share of columns
    above PSI_DRIFTED, and the share of rows the guard withheld. Without a summary, or with too few rows, the
    figures are None (and why)."""
    return drift_of_counts(summary, None if summary is None else bin_counts(summary, bins), len(bins), scores)


def drift_of_counts(summary: dict[str, Any] | None, counts: Any, rows: int, scores: Any,
                    table: Any = None) -> dict[str, Any]:
    """`drift` from the rows' `bin_counts` (a replay keeps them for a sliding window, and `psi_table`)."""
    empty = {"drift_bars": int(rows), "drift_share": None, "drifted": [], "psi_max": None,
             "guard_withheld_share": None, "psi": {}}
    if summary is None:
        return {**empty, "drift_note": "the model has no guard summary (trained before the guard existed)"}
    if rows < MIN_DRIFT_BARS:
        return {**empty, "drift_note": f"{rows} bars since training; drift needs at least {MIN_DRIFT_BARS}"}
    values = psi_of_counts(summary, counts, table)
    drifted = sorted((n for n, v in values.items() if v > PSI_DRIFTED), key=lambda n: -values[n])
    return {"drift_bars": int(rows), "drift_share": round(len(drifted) / max(1, len(values)), 6),
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
