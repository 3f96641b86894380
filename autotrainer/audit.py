"""The look-ahead audit: proves on the bars being trained on that no feature sees the future.

Two tests, run on every retrain before anything is fitted, and by `autotrainer audit` alone:

- Truncation: recompute every feature (built-in and plugged-in) on prefixes of the bars ending at cut
  points spread over the data, and compare with the full computation up to each cut. A causal column
  cannot change when later bars are removed; one that does uses the future. The earliest changed bar
  before a cut says how far ahead it looks at least (1 for `shift(-1)`, 10 for a centred 21-bar window).
- Target leak: a column that alone ranks the next-bar target almost perfectly (AUC > 0.9, or < 0.1 for an
  inverted copy) is a probable copy of the label; honest features of gold M15 sit near 0.5.

Regime probabilities are not audited here: they need a fitted HMM and are causal by construction
(tests/test_regime.py recomputes them on truncated data). Cost: about one and a half computations of the
built-ins, twelve runs of each plugin, and a sort of the feature matrix: a small share of a retrain
(`scripts/bench.py` reports it).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from autotrainer.errors import ConfigError, LeakageError
from autotrainer.evaluate import column_aucs
from autotrainer.features import WARMUP_BARS
from autotrainer.features.plugins import FeatureSpec, run_plugin
from autotrainer.target import make_target


@dataclass(frozen=True)
class Cuts:
    """How many prefixes a feature function is recomputed on.

    `uniform` prefixes end at cut points spread evenly over the data. A leak that shows only around rare
    events (an order block stamped where it formed, once a later bar breaks structure) is seen only by a
    cut between the stamped bar and the later one; so `events` more prefixes end right at bars where a
    rarely-changing column of that function changes, which is where such a stamp would be.
    """

    uniform: int
    events: int = 0


# The built-ins are most of the cost and their code is fixed (the test suite audits them at many more
# cuts); plugins are cheap, new and unproven, so they get many.
BUILTIN_CUTS = Cuts(uniform=3)
PLUGIN_CUTS = Cuts(uniform=12, events=12)
# A column that changes value on fewer than this share of bars is event-like.
EVENT_CHANGE_RATE = 0.5
# Floating-point tolerance: a recomputation on the same bars may differ in the last bits, never more.
RTOL, ATOL = 1e-9, 1e-12
LEAK_AUC = 0.9
# The AUC is computed on evenly spaced rows: at 2,000 rows its standard error is below 0.01 near 0.9,
# far finer than the gap between an honest feature (~0.5) and a leak (~1.0), and it keeps the audit cheap.
AUC_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class ColumnAudit:
    """What the audit found about one feature column."""

    name: str
    producer: str  # "built-in" or the plugin's "package.module:function"
    cuts: int  # prefixes it was recomputed on
    causal: bool
    differing_values: int  # over all cuts
    first_difference: str | None  # time (UTC, ISO) of the earliest bar whose value changed
    lookahead_bars: int | None  # the column uses bars at least this far after t
    whole_series: bool  # changed from the first compared bar at every cut: global statistics or randomness
    auc: float | None  # single-feature AUC against the target (None: one class only)

    @property
    def label_leak(self) -> bool:
        return self.auc is not None and (self.auc > LEAK_AUC or self.auc < 1.0 - LEAK_AUC)

    @property
    def ok(self) -> bool:
        return self.causal and not self.label_leak

    @property
    def why(self) -> str:
        reasons = []
        if not self.causal:
            reach = ("changed from the first compared bar at every cut: it uses the whole series (e.g. a global "
                     "mean or scaling) or is not deterministic" if self.whole_series
                     else f"it uses bars at least {self.lookahead_bars} ahead of t")
            reasons.append(f"changes when later bars are removed ({self.differing_values:,} values, first at "
                           f"{_short_time(self.first_difference)}): {reach}")
        if self.label_leak:
            side = f"> {LEAK_AUC}" if self.auc > LEAK_AUC else f"< {1.0 - LEAK_AUC:.1f}, inverted"
            reasons.append(f"predicts the target on its own (AUC {self.auc:.3f} {side}): probable label leak")
        return "; ".join(reasons) or f"same values with later bars removed, at {self.cuts} cuts"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"label_leak": self.label_leak, "ok": self.ok, "why": self.why}


@dataclass(frozen=True)
class AuditReport:
    """The audit of every feature column on one set of bars."""

    columns: tuple[ColumnAudit, ...]
    bars: int
    first_bar: str  # time (UTC, ISO) of the oldest and newest bar audited
    last_bar: str
    cuts: tuple[str, ...]  # time (UTC, ISO) of the last bar kept at each cut
    compared_values: int
    auc_rows: int

    @property
    def look_ahead(self) -> list[ColumnAudit]:
        return [c for c in self.columns if not c.causal]

    @property
    def label_leaks(self) -> list[ColumnAudit]:
        return [c for c in self.columns if c.label_leak]

    @property
    def clean(self) -> bool:
        return all(c.ok for c in self.columns)

    @property
    def strongest(self) -> ColumnAudit | None:
        """The column whose AUC is furthest from 0.5: what a near-leak would look like."""
        scored = [c for c in self.columns if c.auc is not None]
        return max(scored, key=lambda c: abs(c.auc - 0.5)) if scored else None

    def summary(self) -> str:
        """One line for the run log."""
        strongest = self.strongest
        best = f"; strongest single feature {strongest.name} AUC {strongest.auc:.3f}" if strongest else ""
        if self.clean:
            return (f"{len(self.columns)} features causal at {len(self.cuts)} cuts ({self.compared_values:,} values "
                    f"compared), no label leak{best}")
        return self.failure_message()

    def failure_message(self) -> str:
        """Names every leaking column and why, for the error, the run record and the log."""
        parts = []
        if self.look_ahead:
            parts.append("feature(s) that use future bars: " + ", ".join(
                f"{c.name} [{c.producer}; first at {_short_time(c.first_difference)}, {c.differing_values:,} values"
                + ("]" if c.whole_series else f", at least {c.lookahead_bars} bar(s) ahead]") for c in self.look_ahead))
        if self.label_leaks:
            parts.append("probable label leak(s): " + ", ".join(
                f"{c.name} [{c.producer}; AUC {c.auc:.3f}]" for c in self.label_leaks))
        return "look-ahead audit failed: " + "; ".join(parts)

    def manifest_entry(self) -> dict[str, Any]:
        """What the manifest keeps as proof that the model's features were audited."""
        strongest = self.strongest
        return {"columns": len(self.columns), "cuts": len(self.cuts), "compared_values": self.compared_values,
                "auc_rows": self.auc_rows,
                "strongest": {"column": strongest.name, "auc": round(strongest.auc, 6)} if strongest else None}

    def to_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "bars": self.bars, "first_bar": self.first_bar, "last_bar": self.last_bar,
                "cuts": list(self.cuts), "compared_values": self.compared_values,
                "auc_rows": self.auc_rows, "leak_auc": LEAK_AUC, "tolerance": {"rtol": RTOL, "atol": ATOL},
                "columns": [c.to_dict() for c in self.columns]}


def uniform_cuts(bar_count: int, count: int) -> list[int]:
    """`count` prefix lengths spread evenly over the rows after warm-up (each keeps at least one compared row)."""
    span = bar_count - WARMUP_BARS
    cuts = {WARMUP_BARS + int(round(span * k / (count + 1))) for k in range(1, count + 1)}
    return sorted(c for c in cuts if WARMUP_BARS < c < bar_count)


def audit_features(bars: pd.DataFrame, spec: FeatureSpec, lookahead: int, features: pd.DataFrame | None = None,
                   builtin_cuts: Cuts = BUILTIN_CUTS, plugin_cuts: Cuts = PLUGIN_CUTS) -> AuditReport:
    """Audit every column of `spec` on validated bars.

    `bars` are indexed 0..n-1, as validation leaves them. `features` is the full computation the model
    trains on (rows after warm-up, or a subset of them, as `model.feature_rows` returns); passing it saves
    recomputing it. ConfigError if a plugin breaks its contract on a prefix.
    """
    if features is None:
        features = spec.compute(bars).iloc[WARMUP_BARS:]
    truncation = _Truncation(features)
    producers: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], Cuts]] = [
        (spec.base_producer, spec.base_features, builtin_cuts)]
    producers += [(name, partial(run_plugin, name, taken=set()), plugin_cuts) for name in spec.plugins]
    for producer, compute, cuts in producers:
        uniform = uniform_cuts(len(bars), cuts.uniform)
        for cut in uniform:
            truncation.compare(producer, compute(bars.iloc[:cut]), cut)
        for cut in truncation.event_cuts(producer, cuts.events, exclude={*uniform, len(bars)}):
            truncation.compare(producer, compute(bars.iloc[:cut]), cut)
    truncation.check_covered()

    labels = features.index.to_numpy()
    auc, auc_rows = _single_feature_auc(truncation.full, make_target(bars, lookahead).loc[labels].to_numpy())
    times = bars["time"]
    columns = tuple(
        ColumnAudit(
            name=name, producer=truncation.producer[j], cuts=int(truncation.cuts[j]),
            causal=bool(truncation.differing[j] == 0), differing_values=int(truncation.differing[j]),
            first_difference=times.iloc[truncation.first[j]].isoformat() if truncation.first[j] >= 0 else None,
            lookahead_bars=int(truncation.reach[j]) if truncation.differing[j] else None,
            whole_series=bool(truncation.differing[j] and truncation.from_start[j]),
            auc=None if np.isnan(auc[j]) else round(float(auc[j]), 6),
        )
        for j, name in enumerate(truncation.names)
    )
    cut_times = tuple(times.iloc[c - 1].isoformat() for c in sorted(truncation.cut_positions))
    return AuditReport(columns, len(bars), times.iloc[0].isoformat(), times.iloc[-1].isoformat(), cut_times,
                       truncation.compared, auc_rows)


class _Truncation:
    """Accumulates, per column, how prefix recomputations differ from the full computation."""

    def __init__(self, features: pd.DataFrame) -> None:
        self.names = list(features.columns)
        self.position = {name: j for j, name in enumerate(self.names)}
        self.full = features.to_numpy(dtype="float64")
        self.labels = features.index.to_numpy()
        width = len(self.names)
        self.producer = [""] * width
        self.returned: dict[str, list[str]] = {}  # the columns each producer returns
        self.cuts = np.zeros(width, dtype=np.int64)
        self.differing = np.zeros(width, dtype=np.int64)
        self.first = np.full(width, -1, dtype=np.int64)  # earliest changed bar
        self.reach = np.zeros(width, dtype=np.int64)  # longest distance from a changed bar to its cut
        self.from_start = np.ones(width, dtype=bool)  # changed from the first compared row at every cut
        self.cut_positions: set[int] = set()
        self.compared = 0

    def compare(self, producer: str, prefix: pd.DataFrame, cut: int) -> None:
        returned = self.returned.setdefault(producer, list(prefix.columns))
        if list(prefix.columns) != returned or any(c not in self.position for c in returned):
            raise ConfigError(f"'{producer}' returned other columns on the first {cut} bars than on all bars; a feature "
                              "function must return the same columns whatever the length of the history")
        cols = np.array([self.position[c] for c in returned])
        for j in cols:
            self.producer[j] = producer
        rows = int(np.searchsorted(self.labels, cut))
        if rows == 0:
            return
        kept = self.labels[:rows]
        changed = _changed(prefix.to_numpy(dtype="float64")[kept], self.full[:rows, cols])
        hit = changed.any(axis=0)
        first_row = changed.argmax(axis=0)  # 0 where nothing changed; masked by `hit` below
        first_label = kept[first_row]
        self.cuts[cols] += 1
        self.differing[cols] += changed.sum(axis=0)
        self.from_start[cols] &= hit & (first_row == 0)
        self.reach[cols] = np.maximum(self.reach[cols], np.where(hit, cut - first_label, 0))
        earlier = hit & ((self.first[cols] < 0) | (first_label < self.first[cols]))
        self.first[cols] = np.where(earlier, first_label, self.first[cols])
        self.cut_positions.add(cut)
        self.compared += changed.size

    def event_cuts(self, producer: str, count: int, exclude: set[int]) -> list[int]:
        """Up to `count` prefix lengths ending at bars where an event-like column of `producer` changes."""
        if count == 0 or producer not in self.returned:
            return []
        values = self.full[:, [self.position[c] for c in self.returned[producer]]]
        moved = ~((values[1:] == values[:-1]) | (np.isnan(values[1:]) & np.isnan(values[:-1])))
        rare = moved[:, moved.mean(axis=0) < EVENT_CHANGE_RATE]
        rows = np.flatnonzero(rare.any(axis=1)) + 1
        if len(rows) == 0:
            return []
        picked = rows[np.unique(np.linspace(0, len(rows) - 1, min(count, len(rows))).round().astype(int))]
        return sorted({int(self.labels[r]) + 1 for r in picked} - exclude)

    def check_covered(self) -> None:
        missing = [name for name, producer in zip(self.names, self.producer) if not producer]
        if missing:
            raise ConfigError(f"feature column(s) {', '.join(missing)} came from no feature function on a shorter "
                              "history; a feature function must return the same columns whatever the length of "
                              "the history")


def require_clean(report: AuditReport) -> None:
    """Stop the run before anything is fitted when a feature leaks."""
    if not report.clean:
        raise LeakageError(report.failure_message()
                           + ". Nothing was trained or published; 'autotrainer audit' shows every feature")


def run_audit(settings: Any, bar_count: int | None = None) -> AuditReport:
    """`autotrainer audit`: the audit alone, on the bars a daily retrain would use (or `bar_count`)."""
    from autotrainer.bars import require_enough
    from autotrainer.sources import load_bars

    bars = load_bars(settings, bar_count or settings.bars_and_rounds("daily")[0])
    require_enough(bars, settings.min_bars)
    return audit_features(bars.frame, FeatureSpec.from_settings(settings), settings.lookahead)


def _changed(prefix: np.ndarray, full: np.ndarray) -> np.ndarray:
    """True where two computations differ beyond floating-point tolerance (NaN equals NaN)."""
    changed = ~((prefix == full) | (np.isnan(prefix) & np.isnan(full)))
    if changed.any():
        where = np.nonzero(changed)
        changed[where] = ~np.isclose(prefix[where], full[where], rtol=RTOL, atol=ATOL)
    return changed


def _single_feature_auc(values: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, int]:
    """Each column's AUC against the target on evenly spaced rows that have a target.

    NaN counts as the lowest value, so a column whose *missingness* encodes the label is caught too.
    """
    usable = np.flatnonzero(~np.isnan(target))
    spaced = np.linspace(0, len(usable) - 1, min(len(usable), AUC_SAMPLE_ROWS)).round().astype(int)
    rows = usable[np.unique(spaced)]
    y = target[rows].astype(bool)
    x = np.nan_to_num(values[rows], nan=-np.inf, posinf=np.inf, neginf=-np.inf)
    return column_aucs(y, x), len(rows)


def _short_time(iso_time: str | None) -> str:
    return "-" if iso_time is None else pd.Timestamp(iso_time).strftime("%Y-%m-%d %H:%M UTC")
