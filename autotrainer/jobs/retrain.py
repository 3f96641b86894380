"""The retrain pipeline: load and validate bars, features and target, HMM, XGBoost, evaluate, publish.

The steps themselves (load, features, split, audit, regime, signal, evaluate, decide, stage, publish, record) are
plain functions in `jobs.steps`; this module holds the use case: it takes the run lock, sequences and times
the steps, writes their results into the run record in one place (`_note`), and turns every outcome
(published, rejected, skipped, failed) into exactly one run record. The published models change only
through `store.publish`, and only for a candidate that passed every check.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from autotrainer.config import Settings
from autotrainer.errors import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNEXPECTED,
    EXIT_UNRECORDED,
    AutotrainerError,
    InsufficientDataError,
    UnchangedInputsError,
)
from autotrainer.fsutil import remove_stale_temps
from autotrainer.history.records import ModelEvent, RunRecord
from autotrainer.history.service import History
from autotrainer.jobs import net_edge, steps, training
from autotrainer.jobs.announce import after_run
from autotrainer.jobs.recipe import recipe_digest, require_change
from autotrainer.jobs.rollback import restore_if_corrupt
from autotrainer.jobs.run_manifest import build_manifest
from autotrainer.jobs.settle import settle_dead_runs
from autotrainer.jobs.steps import BarsSource
from autotrainer.jobs.training import Trainer, timed
from autotrainer.lock import run_lock
from autotrainer.rules import REJECTED, rounded, sample_count
from autotrainer.schedule import state as scheduler_state
from autotrainer.store import pairs as store
from autotrainer.store.manifest import serving_entries
from autotrainer.timeutil import iso, utc_now

log = logging.getLogger("autotrainer")
RULE = "=" * 50


_Result = TypeVar("_Result")


@dataclass(frozen=True)
class Candidate:
    """The model a run trained, published or not, as plain objects (the replay scores rejected ones too)."""

    booster: Any
    regime: Any
    manifest: dict[str, Any]  # what would be published, without the file checksums
    guard: Any = None  # the out-of-distribution guard's summary (models.guard)


@dataclass
class RetrainOutcome:
    """What a run did: its record, the process exit code, and details for the report and benchmarks."""

    record: RunRecord
    exit_code: int
    timings: dict[str, float] = field(default_factory=dict)
    top_features: list[tuple[str, float]] = field(default_factory=list)
    regime_shares: dict[str, float] = field(default_factory=dict)
    split: dict[str, int] = field(default_factory=dict)
    published: bool = False
    candidate: Candidate | None = None
    unrecorded: list[str] = field(default_factory=list)  # swaps that happened but whose event was not recorded
    edge: dict[str, Any] = field(default_factory=dict)  # the test slice's edge after costs (net_edge.Measured)


def default_training_type(settings: Settings, now: datetime | None = None) -> str:
    """The type a manual `retrain` without --type runs (see schedule.manual_training_type); a broken active pair
    counts as none published, as it does for the scheduler, so this never fails on the damage a run repairs."""
    from autotrainer.schedule.policy import manual_training_type

    return manual_training_type(now or utc_now(), store.active_state(settings.models_dir).published, settings)


def retrain_now(settings: Settings, training_type: str, bars: int | None, force: bool = False) -> RetrainOutcome:
    """`retrain`: a manual run; `training_type` 'auto' is the one default_training_type chooses; `force` trains
    even when nothing changed since the last trained run."""
    chosen = default_training_type(settings) if training_type == "auto" else training_type
    return retrain(settings, training_type=chosen, trigger="manual", bars=bars, force=force)


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def retrain(
    settings: Settings,
    training_type: str = "daily",
    trigger: str = "manual",
    reason: str = "",
    bars: int | None = None,
    now: datetime | None = None,
    bars_source: BarsSource | None = None,
    force: bool = False,
    trainer: Trainer | None = None,
) -> RetrainOutcome:
    """Run the whole pipeline once, under the run lock, and record it.

    `now` and `bars_source` let a replay run the same code at a simulated time on the bars closed by then
    (default: the clock and `sources.load_bars`); `trainer` may hand over a candidate already trained on
    exactly the bars loaded, or an audit that covered them (jobs.training; default: train and audit here).
    `force` trains even on the bars, settings and code of the last trained run (otherwise skipped, see
    jobs.recipe). Raises LockedError (exit 5) if another run holds the lock; every other failure it can
    describe is recorded and returned in the outcome instead of raised.
    """
    with run_lock(settings.data_dir, settings.lock_timeout_seconds, command=f"autotrainer retrain ({training_type})"):
        return _retrain_locked(settings, training_type, trigger, reason, bars, now, bars_source, force, trainer)


def run_due(settings: Settings, now: datetime | None = None) -> RetrainOutcome | None:
    """`check --run`: decide again under the lock, from the history itself rather than the state file (another
    run may just have finished), and retrain if due."""
    from autotrainer.schedule.policy import decide

    with run_lock(settings.data_dir, settings.lock_timeout_seconds, command="autotrainer check --run"):
        decision = decide(now or utc_now(), scheduler_state.rebuild(settings), settings)
        if not decision.due or decision.training_type is None:
            log.info("No longer due: %s", decision.reason)
            return None
        return _retrain_locked(settings, decision.training_type, decision.trigger or "schedule", decision.reason,
                               None, None, None, False, None)


def _retrain_locked(settings: Settings, training_type: str, trigger: str, reason: str, bars: int | None,
                    now: datetime | None, bars_source: BarsSource | None, force: bool,
                    trainer: Trainer | None) -> RetrainOutcome:
    # Holding the lock: any run still marked 'running' belongs to a process that died.
    from autotrainer.data.sources import resolve_source

    started = now or utc_now()
    bar_count, rounds = settings.bars_and_rounds(training_type)
    bar_count = bars or bar_count
    history = History(settings)
    record = RunRecord(
        run_id=new_run_id(started), training_type=training_type, bars_used=None, num_boost_rounds=rounds,
        started_at=iso(started), trigger=trigger, reason=reason, symbol=settings.symbol,
        timeframe=settings.timeframe, source=resolve_source(settings),
    )
    outcome = RetrainOutcome(record, EXIT_UNEXPECTED)
    clock = time.perf_counter()
    remove_stale_temps(settings.data_dir, settings.models_dir)
    active = store.active_state(settings.models_dir)  # read once for both: until the restore only history changes
    settle_dead_runs(history, settings.models_dir, record.run_id, active)
    history.start_run(record)  # before the banner: a run that says it started has a record, even if killed now
    log.info(RULE)
    log.info("AUTO-RETRAINING STARTED (run %s)", record.run_id)
    log.info("Type: %s, Bars: %d, Boost Rounds: %d, Trigger: %s%s", training_type, bar_count, rounds, trigger,
             f" ({reason})" if reason else "")
    log.info(RULE)
    restored = None
    try:
        restored = restore_if_corrupt(settings, history, started, active)
        if restored is not None:
            outcome.unrecorded.extend(restored.warnings)
        _run_stages(settings, bar_count, rounds, record, outcome, _Clock(started), history, bars_source, force,
                    trainer)
    except (InsufficientDataError, UnchangedInputsError) as exc:
        record.status, record.error_message, outcome.exit_code = "skipped", str(exc), exc.exit_code
        log.warning("Skipped: %s", exc)
    except AutotrainerError as exc:
        record.status, record.error_message, outcome.exit_code = "failed", str(exc), exc.exit_code
        log.error("Failed: %s", exc)
    except Exception as exc:  # an unexpected fault must still be recorded and visible
        record.status, record.error_message = "failed", f"unexpected {type(exc).__name__}: {exc}"
        outcome.exit_code = EXIT_UNEXPECTED
        log.exception("Failed: %s (traceback in the log file); %s", record.error_message,
                      f"the pair restored from backup {restored.restored.name} stays active" if restored
                      else "the published models are unchanged")
    finally:
        store.discard_staging(settings.models_dir)
        record.duration_seconds = round(time.perf_counter() - clock, 3)
        record.completed_at = iso(started + timedelta(seconds=record.duration_seconds))
        record.success = record.status in ("success", "warning")
        record.warnings.extend(outcome.unrecorded + history.warnings)
        if outcome.unrecorded and outcome.exit_code == EXIT_OK:
            outcome.exit_code = EXIT_UNRECORDED
        try:
            history.finish_run(record)
        except Exception as exc:  # noqa: BLE001 - neither database nor outbox could take it: say so loudly
            log.error("History: the run record could not be written anywhere (%s: %s)%s", type(exc).__name__, exc,
                      "; the new models ARE published" if outcome.published else "")
            outcome.exit_code = outcome.exit_code or (EXIT_UNRECORDED if outcome.published else EXIT_UNEXPECTED)
        scheduler_state.refresh(settings, history)
        history.close()
    _log_verdict(record, settings)
    if bars_source is None:  # a real run (a replay brings its own bars): the dashboard card and the operator
        after_run(settings, record, outcome.published or restored is not None)
    return outcome


class _Clock:
    """The run's time: its start (real or simulated) plus the seconds elapsed since, so a replayed run's
    manifest and events carry simulated times and a real run's carry real ones."""

    def __init__(self, started: datetime) -> None:
        self.started, self._origin = started, time.perf_counter()

    def now(self) -> datetime:
        return self.started + timedelta(seconds=time.perf_counter() - self._origin)


def _run_stages(settings: Settings, bar_count: int, rounds: int, record: RunRecord, outcome: RetrainOutcome,
                clock: _Clock, history: History, bars_source: BarsSource | None, force: bool,
                trainer: Trainer | None) -> None:
    """The named steps in order, each timed; the record and the outcome take each step's result as it comes,
    so a run that stops part-way records what it had found. A run that could only repeat the last trained
    one stops after the bars are read (jobs.recipe)."""
    with timed(outcome.timings, "load"):
        loaded = steps.load(settings, bar_count, record.source, clock.started, bars_source)
        _note(record, outcome, loaded)
        steps.log_loaded(loaded)
        loaded = steps.enough(loaded, settings.min_bars)
        record.data_fingerprint = loaded.fingerprint
        record.recipe_digest = recipe_digest(settings, rounds)
        if settings.skip_unchanged and not force:
            require_change(history, record)
    trained = _train(settings, loaded, rounds, record, outcome, trainer)
    prepared, slices, audit, regimes = trained.prepared, trained.slices, trained.audit, trained.regimes
    fit, evaluation, measured = trained.boosted.fit, trained.evaluation, trained.measured
    manifest = build_manifest(settings, record, regimes.model, outcome, regimes.matrix.iloc[slices.test],
                              loaded.frame, prepared.spec, audit, clock.now(), evaluation.signals, measured)
    manifest.update(serving_entries(settings, trained.guard))
    outcome.candidate = Candidate(fit.booster, regimes.model, manifest, trained.guard)
    state = store.active_state(settings.models_dir)  # the champion; unchanged while we hold the lock
    if state.broken:
        log.warning("The active pair is broken and no backup could restore it (%s); a candidate that passes "
                    "replaces it", state.problem)
    rejection = _decide(settings, record, outcome, state, loaded, prepared, slices, evaluation, history, measured)
    if rejection is not None:
        _reject(record, outcome, history, state.manifest, clock, rejection)
        return
    with timed(outcome.timings, "stage"):
        staged = steps.stage(settings, record.run_id, fit, regimes, manifest, slices, evaluation.p_test, trained.guard)
    with timed(outcome.timings, "publish"):
        _publish(settings, record, outcome, state, staged, clock, history)


def _train(settings: Settings, loaded: steps.Loaded, rounds: int, record: RunRecord, outcome: RetrainOutcome,
           trainer: Trainer | None) -> training.Trained:
    """The candidate `trainer` already trained on exactly these bars, noted as if trained here; else train it."""
    def note(result: _Result) -> _Result:
        return _note(record, outcome, result)

    trainer = trainer or Trainer()
    ready = trainer.ready(settings, loaded, rounds) if trainer.ready is not None else None
    if ready is None:
        return training.train(settings, loaded, rounds, note, outcome.timings, trainer.audited)
    for level, message in ready.logged:
        log.log(level, "%s", message)
    for result in ready.noted():
        note(result)
    outcome.timings.update(ready.timings)
    return ready


def _decide(settings: Settings, record: RunRecord, outcome: RetrainOutcome, state: store.ActiveState,
            loaded: steps.Loaded, prepared: steps.Features, slices: Any, evaluation: steps.Evaluation,
            history: History, measured: net_edge.Measured) -> str | None:
    """Why the candidate is rejected (None: publish it): below the floor, losing after costs under
    `edge_rule = no_loss`, or kept out by the champion."""
    if record.status == REJECTED:
        return steps.floor_rejection(settings, evaluation.test, state)
    losing = net_edge.edge_rejection(settings, measured, steps.kept_model(state))
    if losing is not None:
        return losing
    with timed(outcome.timings, "champion"):
        comparison = steps.challenge(settings, state, loaded.frame, prepared, slices, evaluation.p_test)
    if comparison is None:
        return None
    _note(record, outcome, comparison)
    return steps.decide(settings, state, comparison, evaluation.signals, history)


def _publish(settings: Settings, record: RunRecord, outcome: RetrainOutcome, state: store.ActiveState,
             staged: Any, clock: _Clock, history: History) -> None:
    """Back up, swap in and record the publish event; the record says where the pair went."""
    record.backup_path = steps.back_up(settings, clock.started)
    steps.publish(settings, staged)
    outcome.published, outcome.exit_code = True, EXIT_OK
    record.model_path = str((settings.models_dir / store.MANIFEST).resolve())
    record.manifest_sha256 = store.sha256_bytes(store.manifest_bytes(staged.manifest))
    log.info("Models published to %s", settings.models_dir)
    why = f"{record.training_type} retrain, test AUC {record.test_auc:.4f}"
    if state.broken:
        why += f"; replaced a broken active pair ({state.problem})"
        record.warnings.append(f"replaced a broken active pair: {state.problem}")
    unrecorded = steps.record(history, record.run_id, why, record.backup_path, state.manifest, staged.manifest,
                              iso(clock.now()) or "")
    if unrecorded:
        outcome.unrecorded.append(unrecorded)


def _note(record: RunRecord, outcome: RetrainOutcome, result: _Result) -> _Result:
    """The one place a step's result is written into the run record and the outcome; returns the result."""
    from autotrainer.models.signal import Split

    if isinstance(result, steps.Loaded):
        record.bars_used = len(result.frame)
        bars = result.bars
        record.data_start, record.data_end = iso(bars.start.to_pydatetime()), iso(bars.end.to_pydatetime())
        record.warnings.extend(bars.warnings)
    elif isinstance(result, steps.Regimes):
        record.hmm_trained, outcome.regime_shares = True, result.shares
    elif isinstance(result, steps.Evaluation):
        record.train_auc, record.test_auc = round(result.train.auc, 6), round(result.test.auc, 6)
        record.test_auc_low, record.test_auc_high = round(result.test.low, 6), round(result.test.high, 6)
        record.train_accuracy, record.test_accuracy = result.train_accuracy, result.test_accuracy
        _record_signals(record, result.signals, result.p_test)
        record.auc_floor, record.auc_target, record.status = result.floor, result.target, result.status
    elif isinstance(result, net_edge.Measured):
        _record_edge(record, outcome, result)
    elif isinstance(result, Split):
        outcome.split = result.sizes()
        record.sample_count = sample_count(outcome.split)
    elif isinstance(result, steps.Boosted):
        record.xgb_trained = True
        record.best_iteration, record.validation_auc = result.fit.best_iteration, round(result.fit.validation_auc, 6)
        record.feature_count = result.columns
        outcome.top_features = list(result.fit.importance.items())[:10]
    else:  # the champion comparison (jobs.champion.Comparison; its module is too heavy to import up here)
        _record_comparison(record, result)
        outcome.candidate.manifest["metrics"]["champion"] = dataclasses.asdict(result)
    return result


def _reject(record: RunRecord, outcome: RetrainOutcome, history: History, active: dict[str, Any] | None,
            clock: _Clock, why: str) -> None:
    """The seed's 'rollback': the candidate is not used and the published pair stays byte-for-byte as it was."""
    record.status, record.error_message, outcome.exit_code = REJECTED, why, EXIT_REJECTED
    history.add_event(ModelEvent("rejection", record.run_id, why, manifest_before=active,
                                 occurred_at=iso(clock.now()) or ""))


def _record_comparison(record: RunRecord, comparison: Any) -> None:
    record.champion_auc = rounded(comparison.champion_auc)
    record.champion_auc_difference = rounded(comparison.difference)
    record.champion_difference_low = rounded(comparison.difference_low)
    record.champion_difference_high = rounded(comparison.difference_high)
    record.champion_p_value = rounded(comparison.p_value)


def _record_edge(record: RunRecord, outcome: RetrainOutcome, measured: net_edge.Measured) -> None:
    """The edge's headline figures into the record's columns; every figure into --json."""
    outcome.edge = measured.to_json()
    for name in EDGE_COLUMNS:
        setattr(record, name, outcome.edge.get(name))
    record.confidence_threshold = measured.threshold.value
    record.edge_cost_source = f"point from {measured.costs.point_source}; spread from {measured.costs.spread_source}"
    choice = measured.threshold.choice
    if choice is not None and not choice.chosen:  # 'auto' had nothing to choose from: say so where runs are read
        record.warnings.append(f"confidence_threshold 'auto': {choice.reason}")


EDGE_COLUMNS = ("edge_verdict", "edge_signals", "edge_mean", "edge_low", "edge_high", "edge_total",
                "edge_profit_factor", "edge_mean_spreads", "edge_always_long_mean", "edge_point")


def _record_signals(record: RunRecord, signals: Any, p_test: Any) -> None:
    """What the bot would have done on the test slice; a model that never clears the threshold is a warning."""
    record.signal_coverage, record.signal_buys, record.signal_sells = round(signals.coverage, 6), signals.buys, signals.sells
    record.signal_hit_rate, record.brier = rounded(signals.hit_rate), rounded(signals.brier)
    record.signal_hit_rate_low, record.signal_hit_rate_high = rounded(signals.hit_rate_low), rounded(signals.hit_rate_high)
    if signals.signals:
        log.info("Signals at confidence %.2f: BUY %d, SELL %d of %d test bars (coverage %.1f%%), hit rate %.3f "
                 "[95%% CI %.3f-%.3f]; Brier %.4f", signals.threshold, signals.buys, signals.sells, signals.rows,
                 100 * signals.coverage, signals.hit_rate, signals.hit_rate_low, signals.hit_rate_high, signals.brier)
        return
    message = (f"the model gives no BUY or SELL signal on its {signals.rows} test bars at confidence_threshold "
               f"{signals.threshold}: its P(up) stays within {float(p_test.min()):.3f}-{float(p_test.max()):.3f}, "
               f"so the bot would never trade on it")
    record.warnings.append(message)
    log.warning("Signals: %s", message)


def _log_verdict(record: RunRecord, settings: Settings) -> None:
    headline = {
        "success": "AUTO-RETRAINING COMPLETED SUCCESSFULLY",
        "warning": f"AUTO-RETRAINING COMPLETED WITH WARNING: test AUC below {settings.min_auc_threshold}",
        REJECTED: "AUTO-RETRAINING REJECTED: candidate not published",
        "skipped": "AUTO-RETRAINING SKIPPED",
        "failed": "AUTO-RETRAINING FAILED: previous model kept",
    }.get(record.status, record.status.upper())
    level = logging.INFO if record.status == "success" else logging.WARNING
    log.info(RULE)
    log.log(level, headline)
    if record.error_message and record.status == REJECTED:
        log.log(level, "Reason: %s", record.error_message)
    log.info("Duration: %.1fs", record.duration_seconds or 0.0)
    log.info(RULE)
