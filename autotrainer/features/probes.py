"""The look-ahead audit's bookkeeping: how recomputations on fewer bars differ from the full computation.

`features.audit` drives the checks (which prefixes, which dropped-bar runs, the verdict); this module keeps,
per column, what the exact prefixes and the probes with single bars dropped found, and picks the prefixes
that decide a suspect. Pure numpy on arrays the driver hands in; no randomness of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from autotrainer.errors import ConfigError
from autotrainer.features import WARMUP_BARS

# A column that changes value on fewer than this share of bars is event-like.
EVENT_CHANGE_RATE = 0.5
# Floating-point tolerance: a recomputation on the same bars may differ in the last bits, never more.
RTOL, ATOL = 1e-9, 1e-12
# Dropped-bar check. Each probed bar is compared together with the CONTROL_ROWS bars before it; bars between
# two dropped bars are drawn from DROP_GAP, long enough that the previous dropped bar has left every finite
# window of the built-ins (WARMUP_BARS, the longest) before those rows, and varied so that no hour of the
# day is always, or never, probed.
CONTROL_ROWS = 8
DROP_GAP = (WARMUP_BARS + CONTROL_ROWS, WARMUP_BARS + CONTROL_ROWS + 20)


class Truncation:
    """Accumulates, per column, how recomputations on fewer bars differ from the full computation."""

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
        self.producer_cuts: dict[str, set[int]] = {}
        self.compared = 0
        self.producer_probes: dict[str, set[int]] = {}  # bars probed with the next bar dropped, per producer
        self.jumps = np.zeros(width, dtype=np.int64)  # probed bars whose value jumped
        self.suspects: list[set[int]] = [set() for _ in range(width)]  # cuts that would decide a suspect, per column
        self.confirmations = np.zeros(width, dtype=np.int64)  # exact prefixes spent on each column's suspects

    def columns_of(self, producer: str, result: pd.DataFrame, history: str) -> np.ndarray:
        """Positions of the columns `producer` returned, which must be the ones it returned on all bars."""
        returned = self.returned.setdefault(producer, list(result.columns))
        if list(result.columns) != returned or any(c not in self.position for c in returned):
            raise ConfigError(f"'{producer}' returned other columns on {history} than on all bars; a feature "
                              "function must return the same columns whatever the length of the history")
        cols = np.array([self.position[c] for c in returned])
        for j in cols:
            self.producer[j] = producer
        return cols

    def compare(self, producer: str, prefix: pd.DataFrame, cut: int) -> None:
        cols = self.columns_of(producer, prefix, f"the first {cut} bars")
        self.producer_cuts.setdefault(producer, set()).add(cut)
        for j in cols:
            self.suspects[j].discard(cut)
        rows = int(np.searchsorted(self.labels, cut))
        if rows == 0:
            return
        kept = self.labels[:rows]
        changed = differs(prefix.to_numpy(dtype="float64")[kept], self.full[:rows, cols])
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

    def dropped_bars(self, bar_count: int, rng: np.random.Generator) -> np.ndarray:
        """Bars to drop, DROP_GAP apart from a random start, each after a compared bar and its control rows."""
        if len(self.labels) == 0:
            return np.zeros(0, dtype=np.int64)
        low, high = DROP_GAP
        start = int(self.labels[0]) + CONTROL_ROWS + 1 + int(rng.integers(0, low))
        gaps = rng.integers(low, high + 1, size=max(0, (bar_count - start) // low + 1))
        dropped = start + np.concatenate([[0], np.cumsum(gaps)])
        dropped = dropped[dropped < bar_count]
        needed = dropped[:, None] - np.arange(1, CONTROL_ROWS + 2)  # the probed bar and its control rows
        return dropped[np.isin(needed, self.labels).all(axis=1)]

    def probe(self, producer: str, result: pd.DataFrame, kept: np.ndarray, dropped: np.ndarray,
              contamination_ratio: float) -> None:
        """Compare the bar before each dropped one with the full computation; note suspects for confirmation.

        A probed value that differs beyond tolerance, with a difference that stepped `contamination_ratio` times
        more into the probed bar than into any of its control rows, is a suspect: the exact prefix ending at
        the probed bar decides.
        """
        cols = self.columns_of(producer, result, f"the bars with {len(dropped)} dropped")
        window = dropped[:, None] - np.arange(1, CONTROL_ROWS + 2)  # probed bar first, then its control rows
        recomputed = result.to_numpy(dtype="float64")[np.searchsorted(kept, window)]
        full = self.full[np.searchsorted(self.labels, window)][:, :, cols]
        stepped = steps(recomputed, full)
        jumped = stepped[:, 0] > contamination_ratio * stepped[:, 1:].max(axis=1)
        suspect = differs(recomputed[:, 0], full[:, 0]) & jumped
        self.jumps[cols] += suspect.sum(axis=0)
        known = self.producer_cuts.get(producer, set())
        for probe, column in zip(*np.nonzero(suspect)):
            if int(dropped[probe]) not in known:  # an exact prefix already compared that bar
                self.suspects[cols[column]].add(int(dropped[probe]))
        self.producer_probes.setdefault(producer, set()).update(int(d) - 1 for d in dropped)

    def next_confirmation(self, producer: str) -> int | None:
        """The cut that decides a suspect of the causal-so-far column with the fewest confirmations yet, so that
        one column whose memory keeps raising suspects cannot use up the budget of the others."""
        pending = [j for j in range(len(self.names))
                   if self.producer[j] == producer and self.suspects[j] and self.differing[j] == 0]
        if not pending:
            return None
        column = min(pending, key=lambda j: self.confirmations[j])
        self.confirmations[column] += 1
        return min(self.suspects[column])

    def probed_bars(self, column: int) -> int:
        """Distinct bars probed for `column`, less its suspects left unconfirmed (a leaking column's need none)."""
        unconfirmed = len(self.suspects[column]) if self.differing[column] == 0 else 0
        return len(self.producer_probes.get(self.producer[column], ())) - unconfirmed

    def probe_positions(self) -> set[int]:
        """Every bar probed, for any producer."""
        return set().union(*self.producer_probes.values())

    def check_covered(self) -> None:
        missing = [name for name, producer in zip(self.names, self.producer) if not producer]
        if missing:
            raise ConfigError(f"feature column(s) {', '.join(missing)} came from no feature function on a shorter "
                              "history; a feature function must return the same columns whatever the length of "
                              "the history")


def differs(prefix: np.ndarray, full: np.ndarray) -> np.ndarray:
    """True where two computations differ beyond floating-point tolerance (NaN equals NaN)."""
    changed = ~((prefix == full) | (np.isnan(prefix) & np.isnan(full)))
    if changed.any():
        where = np.nonzero(changed)
        changed[where] = ~np.isclose(prefix[where], full[where], rtol=RTOL, atol=ATOL)
    return changed


def steps(recomputed: np.ndarray, full: np.ndarray) -> np.ndarray:
    """How much the difference between two computations changes into each row of a probed window (rows along
    axis 1, newest first): into the probed bar, then into each control row. NaN against NaN is no difference;
    NaN against a number, an infinite step."""
    difference = np.where(np.isnan(recomputed) & np.isnan(full), 0.0, recomputed - full)
    return np.nan_to_num(np.abs(difference[:, :-1] - difference[:, 1:]), nan=np.inf)
