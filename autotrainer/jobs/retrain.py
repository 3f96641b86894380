"""The retrain pipeline: load and validate bars, features and target, HMM, XGBoost, evaluate, publish.

Each stage is a plain function in its own module; this one only sequences them, times them, logs what
each found in the seed's style, and turns every outcome (published, rejected, skipped, failed) into
exactly one run record. The published models change only through `store.publish`, and only for a
candidate that passed every check.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

from autotrainer.schedule import state as scheduler_state
from autotrainer.store import pairs as store
from autotrainer.config import Settings
from autotrainer.errors import (EXIT_OK, EXIT_REJECTED, EXIT_UNEXPECTED, EXIT_UNRECORDED, AutotrainerError,
                                InsufficientDataError, ModelStoreError)
from autotrainer.fsutil import remove_stale_temps
from autotrainer.history.service import History
from autotrainer.history.records import ModelEvent, RunRecord, publish_event_id
from autotrainer.lock import run_lock
from autotrainer.jobs.rollback import record_swap, restore_if_corrupt
from autotrainer.jobs.settle import settle_dead_runs
from autotrainer.timeutil import iso, utc_now, wib_text

log = logging.getLogger("autotrainer")
RULE = "=" * 50


BarsSource = Callable[[Settings, int, datetime], Any]  # (settings, bars wanted, now) -> checked Bars


@dataclass(frozen=True)
class Candidate:
    """The model a run trained, published or not, as plain objects (the replay scores rejected ones too)."""

    booster: Any
    regime: Any
    manifest: dict[str, Any]  # what would be published, without the file checksums


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


def default_training_type(settings: Settings, now: datetime | None = None) -> str:
    """The type a manual `retrain` without --type runs (see schedule.manual_training_type); a broken active pair
    counts as none published, as it does for the scheduler, so this never fails on the damage a run repairs."""
    from autotrainer.schedule.policy import manual_training_type

    return manual_training_type(now or utc_now(), store.active_state(settings.models_dir).published, settings)


def retrain_now(settings: Settings, training_type: str, bars: int | None) -> RetrainOutcome:
    """`retrain`: a manual run; `training_type` 'auto' is the one default_training_type chooses."""
    chosen = default_training_type(settings) if training_type == "auto" else training_type
    return retrain(settings, training_type=chosen, trigger="manual", bars=bars)


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
) -> RetrainOutcome:
    """Run the whole pipeline once, under the run lock, and record it.

    `now` and `bars_source` let a replay run the same code at a simulated time on the bars closed by then
    (default: the clock and `sources.load_bars`). Raises LockedError (exit 5) if another run holds the
    lock; every other failure it can describe is recorded and returned in the outcome instead of raised.
    """
    with run_lock(settings.data_dir, settings.lock_timeout_seconds, command=f"autotrainer retrain ({training_type})"):
        return _retrain_locked(settings, training_type, trigger, reason, bars, now, bars_source)


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
                               None, None, None)


def _retrain_locked(settings: Settings, training_type: str, trigger: str, reason: str, bars: int | None,
                    now: datetime | None, bars_source: BarsSource | None) -> RetrainOutcome:
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
    settle_dead_runs(history, settings.models_dir, record.run_id)
    history.start_run(record)  # before the banner: a run that says it started has a record, even if killed now
    log.info(RULE)
    log.info("AUTO-RETRAINING STARTED (run %s)", record.run_id)
    log.info("Type: %s, Bars: %d, Boost Rounds: %d, Trigger: %s%s", training_type, bar_count, rounds, trigger,
             f" ({reason})" if reason else "")
    log.info(RULE)
    restored = None
    try:
        restored = restore_if_corrupt(settings, history, started)
        if restored is not None:
            outcome.unrecorded.extend(restored.warnings)
        _run_stages(settings, bar_count, rounds, record, outcome, _Clock(started), history, bars_source)
    except InsufficientDataError as exc:
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
    return outcome


class _Clock:
    """The run's time: its start (real or simulated) plus the seconds elapsed since, so a replayed run's
    manifest and events carry simulated times and a real run's carry real ones."""

    def __init__(self, started: datetime) -> None:
        self.started, self._origin = started, time.perf_counter()

    def now(self) -> datetime:
        return self.started + timedelta(seconds=time.perf_counter() - self._origin)


@contextmanager
def _timed(outcome: RetrainOutcome, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        outcome.timings[stage] = time.perf_counter() - start


def _run_stages(settings: Settings, bar_count: int, rounds: int, record: RunRecord, outcome: RetrainOutcome,
                clock: _Clock, history: History, bars_source: BarsSource | None) -> None:
    from autotrainer.features.audit import audit_features, require_clean
    from autotrainer.data.bars import fingerprint, require_enough
    from autotrainer.metrics import accuracy, auc_with_ci, signal_stats, verdict
    from autotrainer.features import WARMUP_BARS
    from autotrainer.features.plugins import FeatureSpec
    from autotrainer.jobs.run_manifest import build_manifest
    from autotrainer.models.inputs import design_matrix, feature_rows
    from autotrainer.store.bundle import reproduces
    from autotrainer.models.regime import fit_regime_model, regime_shares
    from autotrainer.models.signal import chronological_split, fit_signal_model, predict, xgb_params
    from autotrainer.data.sources import check_freshness, load_bars
    from autotrainer.features.target import make_target

    with _timed(outcome, "load"):
        log.info("Fetching %d bars of %s %s from %s...", bar_count, settings.symbol, settings.timeframe, record.source)
        bars = (bars_source or load_bars)(settings, bar_count, clock.started)
        check_freshness(bars, settings, clock.started)
        frame = bars.frame
        record.bars_used = len(frame)
        record.data_start, record.data_end = iso(bars.start.to_pydatetime()), iso(bars.end.to_pydatetime())
        record.warnings.extend(bars.warnings)
        for warning in bars.warnings:
            log.warning("Data: %s", warning)
        log.info("Received %d bars", len(frame))
        log.info("Date range: %s to %s", wib_text(bars.start.to_pydatetime()), wib_text(bars.end.to_pydatetime()))
        require_enough(bars, settings.min_bars)
        record.data_fingerprint = fingerprint(frame)

    with _timed(outcome, "features"):
        log.info("Applying feature engineering...")
        spec = FeatureSpec.from_settings(settings)
        features = feature_rows(frame, spec)
        target = make_target(frame, settings.lookahead).loc[features.index]
        usable = target.notna().to_numpy()
        features, y = features[usable], target[usable].to_numpy()
        embargo = max(settings.embargo_bars, settings.lookahead + WARMUP_BARS)
        split = chronological_split(len(features), settings.train_ratio, settings.validation_ratio, embargo)
        outcome.split = split.sizes()
        log.info("Features: %d columns over %d rows (warm-up %d bars, lookahead %d)",
                 features.shape[1], len(features), WARMUP_BARS, settings.lookahead)
        log.info("Split: fit %d | gap %d | validation %d | gap %d | test %d rows",
                 outcome.split["fit"], embargo, outcome.split["validation"], embargo, outcome.split["test"])

    with _timed(outcome, "audit"):
        log.info("Auditing %d features for look-ahead (truncation, dropped-bar and target-leak tests)...",
                 features.shape[1])
        audit = audit_features(frame, spec, settings.lookahead, features)
        require_clean(audit)
        log.info("Audit: %s", audit.summary())

    with _timed(outcome, "regime"):
        log.info("Training HMM Regime Model (%d states, lookback %d)...", settings.hmm_regimes, settings.hmm_lookback)
        regime = fit_regime_model(features.iloc[: split.validation.stop], settings.hmm_regimes,
                                  settings.hmm_lookback, settings.hmm_max_iter, settings.random_seed)
        matrix = design_matrix(features, regime, spec.model_columns(list(features.columns)) + regime.feature_names)
        record.hmm_trained = True
        outcome.regime_shares = regime_shares(matrix[regime.feature_names].iloc[: split.validation.stop])
        log.info("HMM trained: %d iterations%s; regimes in training: %s", regime.fit_info["iterations"],
                 ", converged" if regime.fit_info["converged"] else " (iteration bound reached)",
                 ", ".join(f"{k} {v:.0%}" for k, v in outcome.regime_shares.items()))

    with _timed(outcome, "signal"):
        log.info("Training XGBoost Model (up to %d rounds, early stopping %d on validation)...",
                 rounds, settings.early_stopping_rounds)
        fit = fit_signal_model(matrix, y, split, rounds, settings.early_stopping_rounds,
                               xgb_params(settings.xgb_max_depth, settings.xgb_learning_rate, settings.random_seed))
        record.xgb_trained = True
        record.best_iteration, record.validation_auc = fit.best_iteration, round(fit.validation_auc, 6)
        record.feature_count = matrix.shape[1]
        outcome.top_features = list(fit.importance.items())[:10]

    with _timed(outcome, "evaluate"):
        p_fit, p_test = predict(fit.booster, matrix.iloc[split.fit]), predict(fit.booster, matrix.iloc[split.test])
        train, test = auc_with_ci(y[split.fit], p_fit), auc_with_ci(y[split.test], p_test)
        record.train_auc, record.test_auc = round(train.auc, 6), round(test.auc, 6)
        record.test_auc_low, record.test_auc_high = round(test.low, 6), round(test.high, 6)
        record.train_accuracy = round(accuracy(y[split.fit], p_fit), 6)
        record.test_accuracy = round(accuracy(y[split.test], p_test), 6)
        log.info("XGBoost trained: best iteration %d of %d, validation AUC %.4f", fit.best_iteration, rounds, fit.validation_auc)
        log.info("XGBoost trained: Train AUC=%.4f, Test AUC=%.4f (95%% CI %.4f-%.4f)",
                 train.auc, test.auc, test.low, test.high)
        log.info("Accuracy: train %.4f, test %.4f (share of up bars in test: %.4f)",
                 record.train_accuracy, record.test_accuracy, float(y[split.test].mean()))
        log.info("Top features: %s", ", ".join(f"{name} {share:.1%}" for name, share in outcome.top_features[:5]))
        signals = signal_stats(y[split.test], p_test, settings.confidence_threshold)
        _record_signals(record, signals, p_test)
        record.auc_floor, record.auc_target = settings.rollback_auc_threshold, settings.min_auc_threshold
        record.status = verdict(test.auc, record.auc_floor, record.auc_target)
        test_rows = matrix.iloc[split.test]
        manifest = build_manifest(settings, record, regime, outcome, test_rows, frame, spec, audit, clock.now(),
                                  signals)
        outcome.candidate = Candidate(fit.booster, regime, manifest)

    state = store.active_state(settings.models_dir)  # the champion; unchanged while we hold the lock
    active = state.manifest  # recorded as the pair before, also when it is broken
    if state.broken:
        log.warning("The active pair is broken and no backup could restore it (%s); a candidate that passes "
                    "replaces it", state.problem)
    if record.status == "rolled_back":
        kept = ("the published model stays as it was" if state.published
                else f"the active pair stays broken ({state.problem}), so the bot has no loadable model until a "
                     f"candidate passes" if state.broken
                else "no model has been published yet, so the bot has none until a candidate passes")
        _reject(record, outcome, history, active, clock, f"test AUC {test.auc:.4f} is below the floor "
                f"{settings.rollback_auc_threshold} (setting 'rollback_auc_threshold'); candidate rejected, {kept}")
        return

    with _timed(outcome, "champion"):
        comparison = _challenge_champion(settings, state, frame, features, spec, y, split, p_test)
    if comparison is not None:
        _record_comparison(record, comparison)
        manifest["metrics"]["champion"] = dataclasses.asdict(comparison)
        log.info("Champion vs challenger: %s", comparison.reason)
        if not comparison.candidate_wins:
            _reject(record, outcome, history, active, clock, f"{comparison.reason}; candidate rejected, the published "
                    f"model stays as it was (setting 'champion_rule' = '{settings.champion_rule}')")
            return
        kept = _signal_rule(settings, state, comparison, signals, history)
        if kept is not None:
            log.info("Signals vs champion: %s", kept[1])
            if kept[0]:
                _reject(record, outcome, history, active, clock, f"{kept[1]}; candidate rejected, the published model "
                        "stays as it was (setting 'signal_rule' = 'keep_signalling')")
                return

    with _timed(outcome, "stage"):
        staged = store.stage(store.staging_dir(settings.models_dir, record.run_id), {
            "xgboost": (f"xgboost_model-{record.run_id}.ubj", bytes(fit.booster.save_raw("ubj"))),
            "hmm": (f"hmm_regime-{record.run_id}.json", regime.to_json().encode("utf-8")),
        }, manifest)
        if not reproduces(staged.directory, staged.manifest, regime, test_rows, p_test):
            raise AutotrainerError("the staged model files do not reproduce the evaluated model; nothing published")

    with _timed(outcome, "publish"):
        if settings.backup_models:
            backup = store.backup_if_sound(settings.models_dir, clock.started, settings.backups_kept)
            if backup is not None:
                record.backup_path = str(backup.resolve())
                log.info("Models backed up to %s", backup)
        store.publish(settings.models_dir, staged)  # the point of no return: from here on the candidate is live
        outcome.published, outcome.exit_code = True, EXIT_OK
        record.model_path = str((settings.models_dir / store.MANIFEST).resolve())
        record.manifest_sha256 = store.sha256_bytes(store.manifest_bytes(staged.manifest))
        log.info("Models published to %s", settings.models_dir)
        why = f"{record.training_type} retrain, test AUC {record.test_auc:.4f}"
        if state.broken:
            why += f"; replaced a broken active pair ({state.problem})"
            record.warnings.append(f"replaced a broken active pair: {state.problem}")
        unrecorded = record_swap(history, ModelEvent("publish", record.run_id, why, record.backup_path,
                                                     manifest_before=active, manifest_after=staged.manifest,
                                                     occurred_at=iso(clock.now()) or "",
                                                     event_id=publish_event_id(record.run_id)))
        if unrecorded:
            outcome.unrecorded.append(unrecorded)


def _reject(record: RunRecord, outcome: RetrainOutcome, history: History, active: dict[str, Any] | None,
            clock: _Clock, why: str) -> None:
    """The seed's 'rollback': the candidate is not used and the published pair stays byte-for-byte as it was."""
    record.status, record.error_message, outcome.exit_code = "rolled_back", why, EXIT_REJECTED
    history.add_event(ModelEvent("rejection", record.run_id, why, manifest_before=active,
                                 occurred_at=iso(clock.now()) or ""))


def _challenge_champion(settings: Settings, state: store.ActiveState, bars: Any, features: Any, spec: Any,
                        y: Any, split: Any, p_test: Any) -> Any:
    """Compare with the active model when a verified one is live (None otherwise: nothing to defend)."""
    from autotrainer.jobs.champion import compare
    from autotrainer.store.bundle import bundle_from_bytes

    if not state.published:
        return None
    try:
        champion = bundle_from_bytes(settings.models_dir, state.manifest, state.contents)
    except ModelStoreError as exc:  # verifies but cannot be loaded: the candidate repairs it
        log.warning("Champion vs challenger skipped: the active pair cannot be loaded (%s)", exc)
        return None
    return compare(champion, bars, features, spec, y, split.test, p_test, settings)


def _signal_rule(settings: Settings, state: store.ActiveState, comparison: Any, signals: Any,
                 history: History) -> tuple[bool, str] | None:
    """(keep the champion?, why) for a candidate that never signals against a champion that does (None: no
    objection). Judged on the comparison's shared bars, and on the champion's newest live measurement."""
    from autotrainer.jobs.champion import champion_signals, keep_signalling, live_auc_below_floor, live_signals

    if settings.signal_rule == "off" or signals.signals:
        return None
    run_id = state.manifest["run_id"]
    live = history.latest_auc_check(run_id)
    return keep_signalling(signals, run_id, champion_signals(comparison, state.manifest), live_signals(live),
                           live_auc_below_floor(live, settings.rollback_auc_threshold))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _record_comparison(record: RunRecord, comparison: Any) -> None:
    record.champion_auc = _rounded(comparison.champion_auc)
    record.champion_auc_difference = _rounded(comparison.difference)
    record.champion_difference_low = _rounded(comparison.difference_low)
    record.champion_difference_high = _rounded(comparison.difference_high)
    record.champion_p_value = _rounded(comparison.p_value)


def _record_signals(record: RunRecord, signals: Any, p_test: Any) -> None:
    """What the bot would have done on the test slice; a model that never clears the threshold is a warning."""
    record.signal_coverage, record.signal_buys, record.signal_sells = round(signals.coverage, 6), signals.buys, signals.sells
    record.signal_hit_rate, record.brier = _rounded(signals.hit_rate), _rounded(signals.brier)
    record.signal_hit_rate_low, record.signal_hit_rate_high = _rounded(signals.hit_rate_low), _rounded(signals.hit_rate_high)
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
        "rolled_back": "AUTO-RETRAINING REJECTED: candidate not published",
        "skipped": "AUTO-RETRAINING SKIPPED",
        "failed": "AUTO-RETRAINING FAILED: previous model kept",
    }.get(record.status, record.status.upper())
    level = logging.INFO if record.status == "success" else logging.WARNING
    log.info(RULE)
    log.log(level, headline)
    if record.error_message and record.status == "rolled_back":
        log.log(level, "Reason: %s", record.error_message)
    log.info("Duration: %.1fs", record.duration_seconds or 0.0)
    log.info(RULE)
