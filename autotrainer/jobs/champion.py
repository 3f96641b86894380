"""Champion vs challenger: the candidate must not be demonstrably worse than the active model on the same bars.

Fairness matters more than the number: the active model (the champion) trained on older bars that may
overlap the candidate's test window. Only test rows from the champion's own test start onwards — bars
that never shaped the champion — are used, and both models are scored on exactly those rows, each with
features computed from its own manifest through the one shared code path. Both score the same rows, so
the paired DeLong test applies: its covariance term removes what the two share (an easy or hard stretch).

AUC is not what the bot trades on: a candidate that never clears the confidence threshold would leave the
bot idle. `signal_rule` keeps a champion that signals against such a candidate unless the champion is
demonstrably losing (its signals' hit-rate interval wholly below 50%, the emergency evidence rule's test).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.config import Settings
from autotrainer.features.plugins import FeatureSpec
from autotrainer.metrics import PairedAuc, SignalStats, paired_auc, signal_stats
from autotrainer.models.inputs import design_matrix, feature_rows, missing_features
from autotrainer.rules import threshold_of
from autotrainer.store.bundle import ModelBundle


@dataclass(frozen=True)
class Comparison:
    champion_run_id: str
    rows: int
    champion_auc: float | None
    candidate_auc: float | None
    candidate_wins: bool
    reason: str
    difference: float | None = None  # candidate AUC - champion AUC on the shared bars
    difference_low: float | None = None  # its 95% interval (paired DeLong)
    difference_high: float | None = None
    p_value: float | None = None  # one-sided: the candidate is worse by more than the tolerance
    rule: str = "delong"
    champion_signals: int | None = None  # the champion's BUY/SELL signals on the shared bars, at its own threshold
    champion_hit_rate: float | None = None
    champion_hit_rate_low: float | None = None  # Wilson 95%
    champion_hit_rate_high: float | None = None


@dataclass(frozen=True)
class Judgement:
    """The verdict on one pair of score vectors, and the words for it."""

    wins: bool
    paired: PairedAuc
    p_value: float  # one-sided: the candidate is worse by more than the tolerance
    verdict: str  # "is not demonstrably worse than", ...
    detail: str  # the numbers and the rule


def judge(y: np.ndarray, candidate_p: np.ndarray, champion_p: np.ndarray, rule: str, alpha: float,
          tolerance: float) -> Judgement:
    """Whether the candidate may replace the champion on these bars.

    'delong': rejected only when demonstrably worse (one-sided p < alpha for 'worse by more than
    tolerance'); at honest AUCs of ~0.51 +/- 0.02 two equally good models differ by noise, and a plain
    comparison rejects about half of them. 'tolerance': the plain comparison of the two point estimates.
    """
    paired = paired_auc(y, candidate_p, champion_p)
    p_value = paired.p_worse(tolerance)
    numbers = (f"difference {paired.difference:+.4f} [95% CI {paired.low:+.4f} to {paired.high:+.4f}], "
               f"one-sided p {p_value:.3f}")
    if rule == "tolerance":
        wins = bool(paired.auc_a >= paired.auc_b - tolerance)
        return Judgement(wins, paired, p_value, "at least matches" if wins else "is worse than",
                         f"{numbers}; rule 'tolerance', tolerance {tolerance:g}")
    wins = not p_value < alpha
    return Judgement(wins, paired, p_value, "is not demonstrably worse than" if wins else "is demonstrably worse than",
                     f"{numbers}; rule 'delong': rejected only if p < {alpha:g}, tolerance {tolerance:g}")


def compare(champion: ModelBundle, bars: pd.DataFrame, features: pd.DataFrame, spec: FeatureSpec, y: np.ndarray,
            test: slice, candidate_p: np.ndarray, settings: Settings) -> Comparison:
    """Score both models on the candidate's test rows that are out of sample for the champion.

    `features` are the candidate's usable rows (computed with `spec`); the champion's are recomputed
    from its own manifest when its feature set differs.
    """
    run_id = champion.manifest["run_id"]
    rule, min_rows = settings.champion_rule, settings.champion_min_rows
    missing = missing_features(champion.manifest)
    if missing:
        return Comparison(run_id, 0, None, None, True, f"champion {run_id} not scored: this version cannot compute "
                                                        f"{', '.join(missing)}", rule=rule)
    champion_test_start = datetime.fromisoformat(champion.manifest["data"]["test_start"])
    times = bars["time"].loc[features.index]
    fair = (times.iloc[test] >= pd.Timestamp(champion_test_start)).to_numpy()
    rows = int(fair.sum())
    if rows < min_rows:
        return Comparison(run_id, rows, None, None, True, f"champion {run_id} not compared: only {rows} test bars are "
                                                           f"out of sample for it (need {min_rows})", rule=rule)
    if champion.feature_spec != spec:
        features = feature_rows(bars, champion.feature_spec).loc[features.index]
    positions = np.arange(test.start, test.stop)[fair]
    context = max(0, positions[0] - champion.regime.lookback)  # the regime filter's full window for every row
    matrix = design_matrix(features.iloc[context: positions[-1] + 1], champion.regime, champion.features)
    from autotrainer.models.signal import predict

    champion_p = predict(champion.booster, matrix.iloc[positions - context])
    judged = judge(y[positions], candidate_p[fair], champion_p, rule, settings.champion_alpha,
                   settings.champion_tolerance)
    paired = judged.paired
    reason = (f"candidate AUC {paired.auc_a:.4f} {judged.verdict} champion {run_id} AUC {paired.auc_b:.4f} "
              f"on the same {rows} test bars ({judged.detail})")
    signals = signal_stats(y[positions], champion_p, threshold_of(champion.manifest))
    return Comparison(run_id, rows, paired.auc_b, paired.auc_a, judged.wins, reason, paired.difference, paired.low,
                      paired.high, judged.p_value, rule, signals.signals, signals.hit_rate, signals.hit_rate_low,
                      signals.hit_rate_high)


@dataclass(frozen=True)
class ChampionSignals:
    """How the champion's BUY/SELL signals fared, and on which bars that was counted."""

    signals: int
    hit_rate: float | None
    low: float | None  # Wilson 95% interval of the hit rate
    high: float | None
    where: str  # "on the same 812 test bars", ...

    @property
    def losing(self) -> bool:
        """Demonstrably wrong more often than right: the whole interval lies below 50%."""
        return self.high is not None and self.high < 0.5

    def describe(self) -> str:
        rate = "" if self.hit_rate is None else (f", hit rate {self.hit_rate:.3f} [95% CI {self.low:.3f}-"
                                                 f"{self.high:.3f}]")
        return f"{self.signals} BUY/SELL signals {self.where}{rate}"


def champion_signals(comparison: Comparison | None, manifest: dict[str, Any]) -> ChampionSignals | None:
    """The champion's signals on the candidate's test bars when the comparison scored it there, else those its
    manifest recorded on its own test slice (None when neither is known, e.g. an older manifest)."""
    if comparison is not None and comparison.champion_signals is not None:
        return ChampionSignals(comparison.champion_signals, comparison.champion_hit_rate,
                               comparison.champion_hit_rate_low, comparison.champion_hit_rate_high,
                               f"on the same {comparison.rows} test bars")
    recorded = manifest.get("metrics", {}).get("signals")
    if not isinstance(recorded, dict):
        return None
    counts = [recorded.get(k) for k in ("signal_buys", "signal_sells")]
    rates = [recorded.get(k) for k in ("signal_hit_rate", "signal_hit_rate_low", "signal_hit_rate_high")]
    if not all(type(c) is int for c in counts) or not (all(isinstance(r, (int, float)) for r in rates)
                                                       or rates == [None] * 3):
        return None  # a manifest that does not say it plainly: nothing to defend
    return ChampionSignals(sum(counts), *rates, "on its own test slice (its manifest)")


def live_signals(check: Any) -> ChampionSignals | None:
    """The champion's signals in its newest live measurement (an AucCheck), when it counted any."""
    if check is None or check.signal_count is None:
        return None
    return ChampionSignals(check.signal_count, check.signal_hit_rate, check.signal_hit_rate_low,
                           check.signal_hit_rate_high, f"on {check.bars_scored} live bars")


def live_auc_below_floor(check: Any, floor: float) -> str | None:
    """Why the champion's newest live measurement (an AucCheck) shows it worse than the floor, else None: the
    emergency evidence rule's other test, so the candidate of the emergency it fired may replace it."""
    if check is None or check.auc is None or check.auc_high is None or not check.auc_high < floor:
        return None
    return (f"its live AUC {check.auc:.4f} [95% CI {check.auc_low:.3f}-{check.auc_high:.3f}] on {check.bars_scored} "
            f"bars lies wholly below the floor {floor:g}")


def keep_signalling(candidate: SignalStats, champion_run_id: str, tested: ChampionSignals | None,
                    live: ChampionSignals | None, live_below_floor: str | None = None) -> tuple[bool, str] | None:
    """Rule 'keep_signalling': (keep the champion?, why) when the candidate never signals on its test bars and
    the champion does; None when the rule has nothing to say. The champion is let go only when it is
    demonstrably losing, by the emergency evidence rule's tests: its hit rate on those bars or live wholly
    below 50%, or its live AUC wholly below the floor (`live_below_floor` says so)."""
    if candidate.signals or tested is None or not tested.signals:
        return None
    idle = (f"the candidate gives no BUY or SELL signal on its {candidate.rows} test bars at confidence_threshold "
            f"{candidate.threshold:g}, while champion {champion_run_id} gave {tested.describe()}")
    losing = next((s for s in (tested, live) if s is not None and s.losing), None)
    if losing is not None:
        evidence = "" if losing is tested else f"; live: {losing.describe()}"
        return False, f"{idle}{evidence}: its hit rate lies wholly below 50%, so it may be replaced (rule 'keep_signalling')"
    if live_below_floor is not None:
        return False, f"{idle}, but {live_below_floor}, so it may be replaced (rule 'keep_signalling')"
    return True, (f"{idle}, not demonstrably losing (hit-rate interval not wholly below 50%): a model that never "
                  "trades does not replace one that does")
