"""Training a candidate from checked bars: features, split, audit, HMM, XGBoost, threshold, evaluation, edge.

This part of a retrain reads nothing but the bars, the settings and the boosting rounds: no history, no
published model, no clock. So its result can be computed anywhere, ahead of time (the replay trains the
runs whose time the clock fixes in a process pool, `replay.pretrain`), and handed to `jobs.retrain` through
its explicit `trainer` parameter; the run then notes the results exactly as if it had trained them itself.
A caller that trains many runs on slices of one series it has audited already (the replay audits all its bars
once, `replay.simulate`) hands that audit over too, so no run repeats it on bars and code it covered.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NamedTuple

from autotrainer.config import Settings
from autotrainer.jobs import net_edge, steps

# (settings, checked bars, boosting rounds) -> a candidate trained on exactly those bars, or None to train here
Ready = Callable[[Settings, steps.Loaded, int], "Trained | None"]


@dataclass(frozen=True)
class Trainer:
    """What a caller that simulates many runs already has for a run (`jobs.retrain`'s `trainer`): `ready` may hand
    over a candidate trained elsewhere on exactly the run's bars (None: train here), and `audited` is a look-ahead
    audit, by this code, of a series the run's bars are a slice of (None: audit the run's bars here)."""

    ready: Ready | None = None
    audited: Any = None  # features.audit.AuditReport


class Trained(NamedTuple):
    """Every result of training, in the order a run notes them, with how long each stage took."""

    prepared: steps.Features
    slices: Any  # models.signal.Split
    audit: Any  # features.audit.AuditReport
    regimes: steps.Regimes
    boosted: steps.Boosted
    costs: Any  # data.costs.Costs
    chosen: Any  # net_edge.Threshold
    evaluation: steps.Evaluation
    measured: net_edge.Measured
    guard: dict[str, Any]  # the out-of-distribution guard's summary (models.guard), calibrated on validation
    timings: dict[str, float]
    logged: tuple[tuple[int, str], ...] = ()  # (level, message) a trainer elsewhere logged, for this run's log

    def noted(self) -> tuple[Any, ...]:
        """The results a run writes into its record, in the order `train` hands them over."""
        return self.slices, self.regimes, self.boosted, self.evaluation, self.measured


def train(settings: Settings, loaded: steps.Loaded, rounds: int, note: Callable[[Any], Any],
          timings: dict[str, float], audited: Any = None) -> Trained:
    """Train on `loaded`; each result goes to `note` as it comes (a run that stops part-way keeps what it had
    found) and each stage's seconds into `timings`. `audited`: see `Trainer`."""
    with timed(timings, "features"):
        prepared = steps.features(settings, loaded.frame)
        slices = note(steps.split(settings, prepared))
    audit = steps.covered_by(audited, loaded.frame) if audited is not None else None
    if audit is None:
        with timed(timings, "audit"):
            audit = steps.audit(settings, loaded.frame, prepared)
    with timed(timings, "regime"):
        regimes = note(steps.regime(settings, prepared, slices))
    with timed(timings, "signal"):
        boosted = note(steps.signal(settings, regimes.matrix, prepared.y, slices, rounds))
        guard = steps.guard(regimes.matrix, slices)
    with timed(timings, "evaluate"):
        costs = net_edge.run_costs(settings, loaded)
        chosen = net_edge.threshold(settings, boosted.fit.booster, regimes.matrix, loaded.frame, slices, costs)
        evaluation = note(steps.evaluate(settings, boosted.fit, regimes.matrix, prepared.y, slices, rounds,
                                         chosen.value))
        measured = note(net_edge.measure(settings, loaded.frame, regimes.matrix, slices, evaluation.p_test, costs,
                                         chosen))
    return Trained(prepared, slices, audit, regimes, boosted, costs, chosen, evaluation, measured, guard,
                   dict(timings))


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Seconds spent in the block, into `timings[stage]` (the benchmark's per-stage table)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = time.perf_counter() - start
