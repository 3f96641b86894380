"""What a replay shows: the policy against two baselines on the same bars, and its own run counts.

Three ways the bot could have been served, all from the candidates the replay trained:
- `policy`: what the retraining policy published (the real pipeline's verdicts);
- `keep_first`: the first published model, never replaced;
- `publish_every`: every candidate the policy trained, published as soon as it finished (no floor, no
  champion check).
Each bar is scored by the model its policy had when the bar closed. The three are compared on the bars
where all three had a model, so realised AUC and signal hit rates are comparable.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import numpy as np

from autotrainer.config import Settings
from autotrainer.history import words
from autotrainer.jobs.recipe import UNCHANGED
from autotrainer.metrics import auc_with_ci, signal_stats
from autotrainer.replay.guard import serving_safety
from autotrainer.replay.money import SIDE_THRESHOLD, edge_numbers, model_digest, served_sides
from autotrainer.replay.provenance import provenance
from autotrainer.replay.simulate import Progress, ReplayRun, Trained, default_out_dir, moment_ns, run_replay, utc_ns
from autotrainer.replay.verdict import market, money, verdict

POLICIES = ("policy", "keep_first", "publish_every")
# A published model's realised AUC enters the optimism gap only if it served at least this many bars:
# fewer make a number whose interval spans everything.
MIN_SERVED_ROWS = 50


@dataclass(frozen=True)
class Served:
    """Which model served each feature row under one policy (-1: none), as an index into `run.trained`."""

    name: str
    model: np.ndarray

    @property
    def covered(self) -> np.ndarray:
        return self.model >= 0


def served(run: ReplayRun, name: str) -> Served:
    """The model each bar was scored with under `name`: the newest one available when the bar closed."""
    if name == "policy":
        chosen = [i for i, t in enumerate(run.trained) if t.published]
    elif name == "keep_first":
        chosen = [i for i, t in enumerate(run.trained) if t.published][:1]
    else:
        chosen = [i for i, t in enumerate(run.trained) if t.p_up is not None]
    model = np.full(len(run.times), -1)
    closes = utc_ns(run.close_times)
    for i in chosen:  # in time order: each later model takes over from when it was available
        model[closes >= moment_ns(run.trained[i].available_at)] = i
    return Served(name, model)


def scores(run: ReplayRun, serving: Served) -> np.ndarray:
    """P(up) per feature row under a policy (NaN where it had no model)."""
    p = np.full(len(run.times), np.nan)
    for i in np.unique(serving.model[serving.covered]):
        rows = serving.model == i
        p[rows] = run.trained[i].p_up[rows]
    return p


def regimes(run: ReplayRun, serving: Served) -> np.ndarray:
    """Most probable regime per feature row under a policy (-1 where it had no model)."""
    out = np.full(len(run.times), -1, dtype=np.int8)
    for i in np.unique(serving.model[serving.covered]):
        rows = serving.model == i
        out[rows] = run.trained[i].regime[rows]
    return out


def in_window(run: ReplayRun) -> np.ndarray:
    """Rows scored by the replay: the bar closed inside the replay window and its outcome is known."""
    closes = utc_ns(run.close_times)
    start, end = moment_ns(run.start), moment_ns(run.end)
    return (closes >= start) & (closes <= end) & ~np.isnan(run.target)


def summarise(run: ReplayRun) -> dict[str, Any]:
    """The replay's numbers, as JSON-able values (the CLI prints them, the report shows them): the verdict,
    market and money first, then what makes the replay reproducible, the counts and their definitions."""
    records = [t.record for t in run.trained]
    servings = {name: served(run, name) for name in POLICIES}
    window = in_window(run)
    common = window & np.logical_and.reduce([s.covered for s in servings.values()])
    published = [t for t in run.trained if t.published]
    scored = {name: _scored(run, serving) for name, serving in servings.items()}
    realised = _realised_per_model(run, servings["policy"], window)
    baselines = {name: _policy_numbers(run, servings[name], scored[name], common, window) for name in POLICIES}
    mean_reported = _mean([run.trained[i].record.test_auc for i in realised])  # the same models as the realised
    mean_realised = _mean(list(realised.values()))
    the_market = market(run, common)
    return {
        "verdict": verdict(run, {name: (p, sides) for name, (p, sides, _) in scored.items()}, common, the_market),
        "market": the_market,
        "money": money(run, baselines, common),
        **provenance(run),
        "definitions": definitions(run),
        "window": {"start": run.start.isoformat(), "end": run.end.isoformat(), "ticks": run.ticks},
        "out_dir": str(run.out_dir),
        "retrains": dict(Counter(r.training_type for r in records)),
        "triggers": dict(Counter(r.trigger for r in records)),
        "outcomes": dict(Counter(words.outcome(r.status) for r in records)),
        "auc_bands": dict(Counter(r.auc_band for r in records if r.auc_band)),  # of the runs that trained
        "published": len(published),
        "emergency_retrains": sum(r.training_type == "emergency" for r in records),
        "skipped_unchanged": sum((r.error_message or "").startswith(UNCHANGED) for r in records),  # retrains saved
        "published_models": [model_digest(t.candidate) for t in published],  # equal lists: the same models
        "holds": dict(run.holds),
        "loop_guard_holds": run.holds.get("loop_guard", 0),
        "hours_without_model": baselines["policy"]["hours_without_model"],
        "serving_safety": serving_safety(run, servings["policy"].model, served_sides(
            run, servings["policy"].model, scores(run, servings["policy"]))[0], window),  # expiry and guard
        "mean_reported_auc": mean_reported,
        "mean_realised_auc": mean_realised,
        "optimism_gap": None if mean_reported is None or mean_realised is None else round(mean_reported - mean_realised, 6),
        "models_in_gap": len(realised),
        "common_bars": int(common.sum()),
        "baselines": baselines,
        "by_type": _by_type(run, realised),
        "audit": None if run.audit is None else {  # the one look-ahead audit of every bar the runs read
            "bars": run.audit.bars, "first_bar": run.audit.first_bar, "last_bar": run.audit.last_bar,
            **run.audit.manifest_entry(), "summary": run.audit.summary()},
        "seconds": round(run.seconds, 1),
    }


def definitions(run: ReplayRun) -> dict[str, str]:
    """Each count the replay shows, defined once (the report and the terminal print these)."""
    horizon = "the next bar" if run.settings.lookahead == 1 else f"{run.settings.lookahead} bars later"
    return {
        "retrains": "every run the policy started in the window, whatever its outcome (published, rejected, "
                    "failed or skipped)",
        "published": "retrains whose candidate passed the floor, champion, signal and edge rules and replaced the "
                     "active model",
        "skipped (unchanged)": "retrains not run because the bars, settings and code were those of the last "
                               "trained run",
        "models used": "distinct models that scored at least one window bar under a serving (a model replaced "
                       "before a bar closed scores none)",
        "models that served": f"published models that scored at least {MIN_SERVED_ROWS} window bars under the "
                              "policy; the mean reported and realised AUC, the optimism gap and the per-type "
                              "AUCs are over these models only",
        "common bars": "window bars with a known outcome on which all three servings had a model; realised AUC, "
                       "hit rates, money, base rate and the paired differences are all on these",
        "signals": "common bars where the serving model's P(up) reached its confidence threshold (BUY) or fell "
                   f"to 1 minus it (SELL); each is held until {horizon} and pays that bar's spread and commission",
        "base rate": f"share of the common bars whose close was higher at {horizon}: an always-BUY model's hit rate",
        "drift": "buy-and-hold's change from the first common bar's close to the last one's horizon end, in %",
        "hours without a model": "hours from the window's start until the serving first had a model",
    }


def _mean(values: list[float]) -> float | None:
    return round(float(np.mean(values)), 6) if values else None


def _scored(run: ReplayRun, serving: Served) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """A serving's P(up) per row, its sides at each served model's threshold, and those thresholds."""
    p = scores(run, serving)
    return (p, *served_sides(run, serving.model, p))


def _policy_numbers(run: ReplayRun, serving: Served, scored: tuple[np.ndarray, np.ndarray, list[float]],
                    common: np.ndarray, window: np.ndarray) -> dict[str, Any]:
    """Realised AUC with its 95% interval, the bot's signals at each served model's threshold and their net
    edge after costs, on the bars all three policies share."""
    p, sides, thresholds = scored
    y = run.target
    first = [run.trained[i].available_at for i in np.unique(serving.model[serving.covered])]
    start = min(first) if first else run.end
    numbers: dict[str, Any] = {
        "models_used": int(len(np.unique(serving.model[serving.covered & window]))),
        "hours_without_model": round(max(0.0, (min(start, run.end) - run.start).total_seconds() / 3600), 2),
        "bars_without_model": int((window & ~serving.covered).sum()),
        "rows": int(common.sum()),
        "realised_auc": None, "realised_auc_low": None, "realised_auc_high": None,
    }
    if common.sum() and len(np.unique(y[common])) == 2:
        auc = auc_with_ci(y[common], p[common])
        numbers.update(realised_auc=round(auc.auc, 6), realised_auc_low=round(auc.low, 6),
                       realised_auc_high=round(auc.high, 6))
    numbers.update(signal_stats(y[common], sides[common], SIDE_THRESHOLD).to_json())
    numbers.pop("calibration")
    numbers["brier"] = round(float(np.mean((p[common] - y[common]) ** 2)), 6) if common.sum() else None
    money_numbers = edge_numbers(run, sides, common, thresholds)
    return numbers | money_numbers | {"signal_threshold": money_numbers["edge_threshold"]}  # each model's own


def _realised_per_model(run: ReplayRun, serving: Served, window: np.ndarray) -> dict[int, float]:
    """Realised AUC of each published model on the bars it served (those serving enough bars)."""
    out = {}
    for i in np.unique(serving.model[serving.covered]):
        rows = (serving.model == i) & window
        if rows.sum() >= MIN_SERVED_ROWS and len(np.unique(run.target[rows])) == 2:
            out[int(i)] = auc_with_ci(run.target[rows], run.trained[i].p_up[rows]).auc
    return out


def _by_type(run: ReplayRun, realised: dict[int, float]) -> dict[str, dict[str, Any]]:
    """Per training type: how many ran and their outcomes; then, like with like, the mean test AUC and the
    mean realised AUC of the same published models (those that served, as in the optimism gap)."""
    table: dict[str, dict[str, Any]] = {}
    for kind in sorted({t.record.training_type for t in run.trained}):
        members = [(i, t) for i, t in enumerate(run.trained) if t.record.training_type == kind]
        records = [t.record for _, t in members]
        served_here = [i for i, _ in members if i in realised]
        table[kind] = {
            "runs": len(records),
            **{label: n for label, n in Counter(words.outcome(r.status) for r in records).items()},
            "models_served": len(served_here),
            "mean_test_auc": _mean([run.trained[i].record.test_auc for i in served_here]),
            "mean_realised_auc": _mean([realised[i] for i in served_here]),
            "mean_seconds": _mean([r.duration_seconds for r in records if r.duration_seconds is not None]),
        }
    return table


def trained_rows(run: ReplayRun) -> list[Trained]:
    """The retrains in time order (what the report's timeline marks)."""
    return sorted(run.trained, key=lambda t: t.record.started_at or "")


def replay_and_summarise(settings: Settings, out_dir: Path | None, start: datetime | None, end: datetime | None,
                         progress: Callable[[Progress], None]) -> tuple[ReplayRun, dict[str, Any]]:
    """`replay`: run the policy over history into `out_dir` (default: a new replay folder here) and sum it up."""
    run = run_replay(settings, out_dir or default_out_dir(), start, end, progress)
    return run, summarise(run)
