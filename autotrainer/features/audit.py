"""The look-ahead audit: proves on the bars being trained on that no feature sees the future.

Three checks, run on every retrain before anything is fitted (a replay runs them once, on every bar its
runs read: `replay.simulate.audit_once`), and by `autotrainer audit` alone:

- Truncation: recompute every feature (built-in and plugged-in) on prefixes of the bars ending at cut
  points spread over the data, and compare with the full computation up to each cut. A causal column
  cannot change when later bars are removed; one that does uses the future. The earliest changed bar
  before a cut says how far ahead it looks at least (1 for `shift(-1)`, 10 for a centred 21-bar window).
- Dropped bars: a one-bar look-ahead on a few rows shows only in a prefix that ends exactly at one of them,
  so a few cuts find it by chance (1% of rows leaking, 3 cuts: ~3%). Instead each function is run once
  more on all the bars with one bar in about 118 dropped, and the bar just before each dropped one (a
  "probed" bar) is compared with the full computation. A causal value there has the same past, except the
  earlier dropped bars, which a long memory (EMA, cumulative sums, rows counted) still feels: its difference
  from the full computation moves smoothly, or not at all, over the probed bar and the bars before it. A
  value that reads the next bar now reads the one after, and its difference jumps at the probed bar. One run
  probes ~67 of 8,000 bars for the cost of one computation; a prefix per probed bar would cost one
  computation each. A jump is only a suspect: the exact prefix ending at that bar decides, so a verdict
  always rests on exact truncation and the shortcut can cost time but never fail a clean function.
- Target leak: a column that alone ranks the next-bar target almost perfectly (AUC > 0.9, or < 0.1 for an
  inverted copy) is a probable copy of the label; honest features of gold M15 sit near 0.5.

Where bars are dropped and cuts confirmed follows from a seed taken from the bars' fingerprint, so the same
bars are always audited the same way, and each day's new bars probe other rows.

Regime probabilities are not audited here: they need a fitted HMM and are causal by construction
(tests/models/test_regime.py recomputes them on truncated data). Cost: one and a half computations of the
built-ins (what their three cuts cost before the dropped bars), 24 runs of each plugin (16 full-length
computations), up to 6 prefixes more per function when suspects need confirming, and a sort of the
feature matrix: a small share of a retrain (`scripts/bench.py` reports it; `scripts/audit_catch_rate.py`
measures what the audit catches).
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Callable

import numpy as np
import pandas as pd

from autotrainer.data.bars import fingerprint
from autotrainer.errors import ConfigError, LeakageError
from autotrainer.features import WARMUP_BARS
from autotrainer.features.plugins import FeatureSpec, run_plugin
from autotrainer.features.probes import ATOL, RTOL, Truncation
from autotrainer.features.target import make_target
from autotrainer.metrics import column_aucs


@dataclass(frozen=True)
class Cuts:
    """How often a feature function is recomputed to prove it causal.

    `uniform` exact prefixes end at cut points spread evenly over the data; every row before a cut is
    compared, so a column that reads several bars ahead or uses statistics of the whole series cannot pass
    one. A leak that shows only around rare events (an order block stamped where it formed, once a later bar
    breaks structure) is seen only by a cut between the stamped bar and the later one; so `events` more
    prefixes end right at bars where a rarely-changing column of that function changes. A look-ahead on a
    few scattered rows is seen only by a cut right after one of them: each of the `drop_passes` runs with
    single bars dropped probes about one bar in 118 for it, for the cost of one computation.
    """

    uniform: int
    events: int = 0
    drop_passes: int = 0


# The built-ins are most of the cost (the SMC loop): one exact cut (half a computation) catches a dense or
# whole-series leak, and one dropped-bar run (one computation) probes ~67 bars, for what the three cuts they
# had before cost; each further run would add ~67 probed bars for one more computation. Their code changes
# only with a release, and the test suite audits it far more thoroughly. Plugins are cheap, new and
# unproven: 8 runs probe ~520 bars, and 4 exact cuts (12 before) still catch dense leaks.
BUILTIN_CUTS = Cuts(uniform=1, drop_passes=1)
PLUGIN_CUTS = Cuts(uniform=4, events=12, drop_passes=8)
# A probed value is a suspect when its difference from the full computation stepped this many times more
# into the probed bar than into any of its control rows: an earlier dropped bar seen through a long memory
# (EMA, cumulative sums, rows counted) shifts the difference smoothly or not at all, a look-ahead jumps.
CONTAMINATION_RATIO = 10.0
# Exact prefixes a function may spend on confirming suspects; a clean function on real data rarely needs one.
MAX_CONFIRMATIONS = 6
LEAK_AUC = 0.9
# The AUC is computed on evenly spaced rows: at 2,000 rows its standard error is below 0.01 near 0.9,
# far finer than the gap between an honest feature (~0.5) and a leak (~1.0), and it keeps the audit cheap.
AUC_SAMPLE_ROWS = 2000


@dataclass(frozen=True)
class ColumnAudit:
    """What the audit found about one feature column."""

    name: str
    producer: str  # "built-in" or the plugin's "package.module:function"
    cuts: int  # exact prefixes it was recomputed on
    probed_bars: int  # bars compared with the next bar dropped (suspects the budget left unconfirmed excluded)
    jumped_bars: int  # probed bars where its value jumped: suspects, each decided by an exact prefix if budget allows
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
            jumps = (f"; it jumped at {self.jumped_bars:,} of {_count(self.probed_bars, 'probed bar')} when the next "
                     "bar was dropped" if self.jumped_bars else "")
            reasons.append(f"changes when later bars are removed ({_count(self.differing_values, 'value')}, first at "
                           f"{_short_time(self.first_difference)}): {reach}{jumps}")
        if self.label_leak:
            side = f"> {LEAK_AUC}" if self.auc > LEAK_AUC else f"< {1.0 - LEAK_AUC:.1f}, inverted"
            reasons.append(f"predicts the target on its own (AUC {self.auc:.3f} {side}): probable label leak")
        return "; ".join(reasons) or (f"same values with later bars removed, at {_count(self.cuts, 'cut')} and "
                                      f"{_count(self.probed_bars, 'probed bar')}")

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
    compared_values: int  # values compared at the cuts
    probed_bars: int  # distinct bars compared with the next bar dropped
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

    @property
    def scope(self) -> str:
        """What was recomputed, for the head of the audit's output."""
        return (f"prefixes at {_count(len(self.cuts), 'cut point')} and {_count(self.probed_bars, 'bar')} probed with "
                f"the next bar dropped, single-feature AUC on {self.auc_rows:,} rows")

    def summary(self) -> str:
        """One line for the run log."""
        strongest = self.strongest
        best = f"; strongest single feature {strongest.name} AUC {strongest.auc:.3f}" if strongest else ""
        if self.clean:
            return (f"{len(self.columns)} features causal at {_count(len(self.cuts), 'cut')} ({self.compared_values:,} "
                    f"values compared) and {_count(self.probed_bars, 'probed bar')}, no label leak{best}")
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
                "probed_bars": self.probed_bars, "auc_rows": self.auc_rows,
                "strongest": {"column": strongest.name, "auc": round(strongest.auc, 6)} if strongest else None}

    def to_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "bars": self.bars, "first_bar": self.first_bar, "last_bar": self.last_bar,
                "cuts": list(self.cuts), "compared_values": self.compared_values, "probed_bars": self.probed_bars,
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
    recomputing it. ConfigError if a plugin breaks its contract on a prefix or on the bars with some dropped.
    """
    if features is None:
        features = spec.compute(bars).iloc[WARMUP_BARS:]
    truncation = Truncation(features)
    seed = int(fingerprint(bars)[:16], 16)
    producers: list[tuple[str, Callable[[pd.DataFrame], pd.DataFrame], Cuts]] = [
        (spec.base_producer, spec.base_features, builtin_cuts)]
    producers += [(name, partial(run_plugin, name, taken=set()), plugin_cuts) for name in spec.plugins]
    for producer, compute, cuts in producers:
        uniform = uniform_cuts(len(bars), cuts.uniform)
        for cut in uniform:
            truncation.compare(producer, compute(bars.iloc[:cut]), cut)
        for cut in truncation.event_cuts(producer, cuts.events, exclude={*uniform, len(bars)}):
            truncation.compare(producer, compute(bars.iloc[:cut]), cut)
        _probe_with_dropped_bars(truncation, producer, compute, bars, cuts.drop_passes, seed)
    truncation.check_covered()

    labels = features.index.to_numpy()
    auc, auc_rows = _single_feature_auc(truncation.full, make_target(bars, lookahead).loc[labels].to_numpy())
    times = bars["time"]
    columns = tuple(
        ColumnAudit(
            name=name, producer=truncation.producer[j], cuts=int(truncation.cuts[j]),
            probed_bars=truncation.probed_bars(j), jumped_bars=int(truncation.jumps[j]),
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
                       truncation.compared, len(truncation.probe_positions()), auc_rows)


def _probe_with_dropped_bars(truncation: Truncation, producer: str, compute: Callable[[pd.DataFrame], pd.DataFrame],
                             bars: pd.DataFrame, runs: int, seed: int) -> None:
    """Run `compute` on the bars with single bars dropped, `runs` times, then decide its suspects with exact
    prefixes (at most MAX_CONFIRMATIONS). The producer's name is part of the seed, so functions probe different bars."""
    for run in range(runs):
        rng = np.random.default_rng([seed, zlib.crc32(producer.encode()), run])
        dropped = truncation.dropped_bars(len(bars), rng)
        if len(dropped) == 0:  # too few bars to probe any
            break
        kept = np.delete(np.arange(len(bars)), dropped)
        try:
            result = compute(bars.iloc[kept].reset_index(drop=True))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (in the look-ahead audit, on the bars with {len(dropped)} single bars dropped, "
                              "as gaps in the data would leave them)") from None
        truncation.probe(producer, result, kept, dropped, CONTAMINATION_RATIO)
    for _ in range(MAX_CONFIRMATIONS):
        cut = truncation.next_confirmation(producer)
        if cut is None:
            return
        truncation.compare(producer, compute(bars.iloc[:cut]), cut)


def require_clean(report: AuditReport) -> None:
    """Stop the run before anything is fitted when a feature leaks."""
    if not report.clean:
        raise LeakageError(report.failure_message()
                           + ". Nothing was trained or published; 'autotrainer audit' shows every feature")


def run_audit(settings: Any, bar_count: int | None = None) -> AuditReport:
    """`autotrainer audit`: the audit alone, on the bars a daily retrain would use (or `bar_count`)."""
    from autotrainer.data.bars import require_enough
    from autotrainer.data.sources import load_bars

    bars = load_bars(settings, bar_count or settings.bars_and_rounds("daily")[0])
    require_enough(bars, settings.min_bars)
    return audit_features(bars.frame, FeatureSpec.from_settings(settings), settings.lookahead)


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


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _short_time(iso_time: str | None) -> str:
    return "-" if iso_time is None else pd.Timestamp(iso_time).strftime("%Y-%m-%d %H:%M UTC")
