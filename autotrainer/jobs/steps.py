"""The retrain's named steps: load, features, split, audit, regime, signal, evaluate, decide, stage, publish,
record.

Each takes plain data and returns plain data (or raises the error that ends the run); none touches the run
record, which `jobs.retrain` fills from their results in one place. Heavy libraries are imported inside the
steps, so importing this module costs nothing on the not-due `check` path.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable, NamedTuple

from autotrainer.config import Settings
from autotrainer.errors import AutotrainerError, ModelStoreError
from autotrainer.history.records import ModelEvent, publish_event_id
from autotrainer.history.service import History
from autotrainer.jobs.rollback import record_swap
from autotrainer.store import pairs as store
from autotrainer.timeutil import wib_text

log = logging.getLogger("autotrainer")

BarsSource = Callable[[Settings, int, datetime], Any]  # (settings, bars wanted, now) -> checked Bars


class Loaded(NamedTuple):
    """The checked bars a run trains on."""

    bars: Any  # data.bars.Bars
    frame: Any  # its DataFrame, indexed 0..n-1
    fingerprint: str = ""  # data.bars.fingerprint of the frame, once `enough` has taken it


class Features(NamedTuple):
    """Feature rows with a target, and how they were computed."""

    spec: Any  # features.plugins.FeatureSpec
    rows: Any  # DataFrame of the usable rows
    y: Any  # their next-bar target (numpy)


class Regimes(NamedTuple):
    """The fitted HMM and the model's input matrix it completes."""

    model: Any  # models.regime.RegimeModel
    matrix: Any  # features plus regime probabilities, in model column order
    shares: dict[str, float]  # share of each regime in the bars it was fitted on


class Boosted(NamedTuple):
    """The fitted signal model and how many input columns it reads."""

    fit: Any  # models.signal.SignalFit
    columns: int


class Evaluation(NamedTuple):
    """How the candidate scores on its fit and test slices (accuracies already rounded for the record)."""

    p_test: Any
    train: Any  # metrics AUC with interval
    test: Any
    train_accuracy: float
    test_accuracy: float
    signals: Any  # metrics.SignalStats on the test slice
    status: str  # the publish verdict on the test AUC: success, warning or rolled_back (below the floor)
    floor: float  # the AUCs it was judged by
    target: float


def load(settings: Settings, bar_count: int, source: str, started: datetime,
         bars_source: BarsSource | None) -> Loaded:
    """Fetch the bars closed by `started` and check they are fresh (StaleDataError otherwise)."""
    from autotrainer.data.sources import check_freshness, load_bars

    log.info("Fetching %d bars of %s %s from %s...", bar_count, settings.symbol, settings.timeframe, source)
    bars = (bars_source or load_bars)(settings, bar_count, started)
    check_freshness(bars, settings, started)
    return Loaded(bars, bars.frame)


def log_loaded(loaded: Loaded) -> None:
    """The seed's lines about what was received."""
    for warning in loaded.bars.warnings:
        log.warning("Data: %s", warning)
    log.info("Received %d bars", len(loaded.frame))
    log.info("Date range: %s to %s", wib_text(loaded.bars.start.to_pydatetime()),
             wib_text(loaded.bars.end.to_pydatetime()))


def enough(loaded: Loaded, min_bars: int) -> Loaded:
    """The bars with their fingerprint, once there are enough of them (InsufficientDataError otherwise)."""
    from autotrainer.data.bars import fingerprint, require_enough

    require_enough(loaded.bars, min_bars)
    return loaded._replace(fingerprint=fingerprint(loaded.frame))


def features(settings: Settings, frame: Any) -> Features:
    """Feature rows after warm-up that have a next-bar target."""
    from autotrainer.features.plugins import FeatureSpec
    from autotrainer.features.target import make_target
    from autotrainer.models.inputs import feature_rows

    log.info("Applying feature engineering...")
    spec = FeatureSpec.from_settings(settings)
    rows = feature_rows(frame, spec)
    target = make_target(frame, settings.lookahead).loc[rows.index]
    usable = target.notna().to_numpy()
    return Features(spec, rows[usable], target[usable].to_numpy())


def split(settings: Settings, prepared: Features) -> Any:
    """Fit, validation and test slices in time order, with an embargo gap wide enough for warm-up and target."""
    from autotrainer.features import WARMUP_BARS
    from autotrainer.models.signal import chronological_split

    rows = prepared.rows
    embargo = max(settings.embargo_bars, settings.lookahead + WARMUP_BARS)
    slices = chronological_split(len(rows), settings.train_ratio, settings.validation_ratio, embargo)
    sizes = slices.sizes()
    log.info("Features: %d columns over %d rows (warm-up %d bars, lookahead %d)",
             rows.shape[1], len(rows), WARMUP_BARS, settings.lookahead)
    log.info("Split: fit %d | gap %d | validation %d | gap %d | test %d rows",
             sizes["fit"], embargo, sizes["validation"], embargo, sizes["test"])
    return slices


def audit(settings: Settings, frame: Any, prepared: Features) -> Any:
    """The look-ahead audit of every column (LeakageError before anything is fitted when one leaks)."""
    from autotrainer.features.audit import audit_features, require_clean

    log.info("Auditing %d features for look-ahead (truncation, dropped-bar and target-leak tests)...",
             prepared.rows.shape[1])
    report = audit_features(frame, prepared.spec, settings.lookahead, prepared.rows)
    require_clean(report)
    log.info("Audit: %s", report.summary())
    return report


def covered_by(audited: Any, frame: Any) -> Any:
    """The clean audit, by this code, of a series whose stretch `frame` is (the replay's), as this run's audit;
    None when it does not cover these bars. The feature functions see nothing but the bars, so a column causal
    on the whole series is causal on any stretch of it, and the dropped-bar probes lie as densely in every
    stretch as in a run's own audit."""
    import pandas as pd

    times = frame["time"]
    if not audited.clean or times.iloc[0] < pd.Timestamp(audited.first_bar) or \
            times.iloc[-1] > pd.Timestamp(audited.last_bar):
        return None
    log.info("Audit: the %s-%s bars lie inside the %s bars audited once for this replay: %s", _utc(frame, 0),
             _utc(frame, -1), f"{audited.bars:,}", audited.summary())
    return audited


def _utc(frame: Any, row: int) -> str:
    return f"{frame['time'].iloc[row]:%Y-%m-%d %H:%M}"


def regime(settings: Settings, prepared: Features, slices: Any) -> Regimes:
    """Fit the HMM on the bars before the test slice and add its regime probabilities to the inputs."""
    from autotrainer.models.inputs import design_matrix
    from autotrainer.models.regime import fit_regime_model, regime_shares

    log.info("Training HMM Regime Model (%d states, lookback %d)...", settings.hmm_regimes, settings.hmm_lookback)
    rows, before_test = prepared.rows, slices.validation.stop
    model = fit_regime_model(rows.iloc[:before_test], settings.hmm_regimes, settings.hmm_lookback,
                             settings.hmm_max_iter, settings.random_seed)
    matrix = design_matrix(rows, model, prepared.spec.model_columns(list(rows.columns)) + model.feature_names)
    shares = regime_shares(matrix[model.feature_names].iloc[:before_test])
    log.info("HMM trained: %d iterations%s; regimes in training: %s", model.fit_info["iterations"],
             ", converged" if model.fit_info["converged"] else " (iteration bound reached)",
             ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
    return Regimes(model, matrix, shares)


def signal(settings: Settings, matrix: Any, y: Any, slices: Any, rounds: int) -> Boosted:
    """Boost the XGBoost classifier, stopping early on the validation slice."""
    from autotrainer.models.signal import fit_signal_model, xgb_params

    log.info("Training XGBoost Model (up to %d rounds, early stopping %d on validation)...",
             rounds, settings.early_stopping_rounds)
    fit = fit_signal_model(matrix, y, slices, rounds, settings.early_stopping_rounds,
                           xgb_params(settings.xgb_max_depth, settings.xgb_learning_rate, settings.random_seed))
    return Boosted(fit, matrix.shape[1])


def guard(matrix: Any, slices: Any) -> dict[str, Any]:
    """The out-of-distribution guard: a summary of the fit slice's inputs, its threshold calibrated on the
    validation slice (models.guard)."""
    from autotrainer.models.guard import fit_guard, guard_bytes

    summary = fit_guard(matrix.iloc[slices.fit], matrix.iloc[slices.validation])
    log.info("Guard: range of %d inputs over %d fit rows; threshold %.4g (99%% of %d validation rows under it); "
             "%d bytes", len(summary["columns"]), summary["rows"], summary["threshold"], summary["validation_rows"],
             len(guard_bytes(summary)))
    return summary


def evaluate(settings: Settings, fit: Any, matrix: Any, y: Any, slices: Any, rounds: int,
             threshold: float) -> Evaluation:
    """AUC with its interval, accuracy and the bot's signals at `threshold`, on the fit and test slices, and the
    verdict: the floor judged by `floor_rule` (a point estimate, or only an interval wholly below it)."""
    from autotrainer.metrics import accuracy, auc_with_ci, floor_verdict, publish_verdict, signal_stats
    from autotrainer.models.signal import predict
    from autotrainer.rules import REJECTED

    p_fit = predict(fit.booster, matrix.iloc[slices.fit])
    p_test = predict(fit.booster, matrix.iloc[slices.test])
    train, test = auc_with_ci(y[slices.fit], p_fit), auc_with_ci(y[slices.test], p_test)
    train_accuracy = round(accuracy(y[slices.fit], p_fit), 6)
    test_accuracy = round(accuracy(y[slices.test], p_test), 6)
    log.info("XGBoost trained: best iteration %d of %d, validation AUC %.4f", fit.best_iteration, rounds,
             fit.validation_auc)
    log.info("XGBoost trained: Train AUC=%.4f, Test AUC=%.4f (95%% CI %.4f-%.4f)",
             train.auc, test.auc, test.low, test.high)
    log.info("Accuracy: train %.4f, test %.4f (share of up bars in test: %.4f)",
             train_accuracy, test_accuracy, float(y[slices.test].mean()))
    top = list(fit.importance.items())[:5]
    log.info("Top features: %s", ", ".join(f"{name} {share:.1%}" for name, share in top))
    signals = signal_stats(y[slices.test], p_test, threshold)
    floor, target = settings.publish_floor_auc, settings.min_auc_threshold
    status = publish_verdict(test.auc, floor, target)
    if status == REJECTED and not floor_verdict(test, floor, settings.floor_rule):
        status = "warning"  # below the floor as a point, but its interval reaches it: no evidence of being below
        log.info("Floor: test AUC %.4f is below %s, but its 95%% interval reaches it (setting 'floor_rule' = "
                 "'evidence'): not rejected on the floor", test.auc, floor)
    return Evaluation(p_test, train, test, train_accuracy, test_accuracy, signals, status, floor, target)


def kept_model(state: store.ActiveState) -> str:
    """What the bot keeps while a candidate is rejected."""
    return ("the published model stays as it was" if state.published
            else f"the active pair stays broken ({state.problem}), so the bot has no loadable model until a "
                 f"candidate passes" if state.broken
            else "no model has been published yet, so the bot has none until a candidate passes")


def floor_rejection(settings: Settings, test_auc: Any, state: store.ActiveState) -> str:
    """Why a candidate below the publish floor is rejected (by `floor_rule`), saying what the bot keeps."""
    if settings.floor_rule == "evidence":
        return (f"test AUC {test_auc.auc:.4f} [95% CI {test_auc.low:.4f}-{test_auc.high:.4f}] lies wholly below the "
                f"floor {settings.publish_floor_auc} (settings 'publish_floor_auc', 'floor_rule' = 'evidence'); "
                f"candidate rejected, {kept_model(state)}")
    return (f"test AUC {test_auc.auc:.4f} is below the floor {settings.publish_floor_auc} (setting "
            f"'publish_floor_auc'); candidate rejected, {kept_model(state)}")


def challenge(settings: Settings, state: store.ActiveState, frame: Any, prepared: Features, slices: Any,
              p_test: Any) -> Any:
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
    return compare(champion, frame, prepared.rows, prepared.spec, prepared.y, slices.test, p_test, settings)


def decide(settings: Settings, state: store.ActiveState, comparison: Any, signals: Any,
           history: History) -> str | None:
    """Why the champion stays (None: the candidate may be published): it lost the comparison, or it never
    signals against a champion that does (judged on the shared bars and the champion's newest live check)."""
    from autotrainer.jobs.champion import champion_signals, keep_signalling, live_auc_below_floor, live_signals

    log.info("Champion vs challenger: %s", comparison.reason)
    if not comparison.candidate_wins:
        return (f"{comparison.reason}; candidate rejected, the published model stays as it was "
                f"(setting 'champion_rule' = '{settings.champion_rule}')")
    if settings.signal_rule == "off" or signals.signals:
        return None
    run_id = state.manifest["run_id"]
    live = history.latest_auc_check(run_id)
    objection = keep_signalling(signals, run_id, champion_signals(comparison, state.manifest), live_signals(live),
                                live_auc_below_floor(live, settings.publish_floor_auc))
    if objection is None:
        return None
    keep, why = objection
    log.info("Signals vs champion: %s", why)
    if not keep:
        return None
    return (f"{why}; candidate rejected, the published model stays as it was "
            "(setting 'signal_rule' = 'keep_signalling')")


def stage(settings: Settings, run_id: str, fit: Any, regimes: Regimes, manifest: dict[str, Any],
          slices: Any, p_test: Any, guard: dict[str, Any]) -> Any:
    """Write the pair (and its guard summary) to staging and prove the staged files reproduce the evaluated model."""
    from autotrainer.models.guard import guard_bytes
    from autotrainer.store.bundle import reproduces

    staged = store.stage(store.staging_dir(settings.models_dir, run_id), {
        "xgboost": (f"xgboost_model-{run_id}.ubj", bytes(fit.booster.save_raw("ubj"))),
        "hmm": (f"hmm_regime-{run_id}.json", regimes.model.to_json().encode("utf-8")),
        "guard": (f"guard-{run_id}.json", guard_bytes(guard)),
    }, manifest)
    if not reproduces(staged.directory, staged.manifest, regimes.model, regimes.matrix.iloc[slices.test], p_test):
        raise AutotrainerError("the staged model files do not reproduce the evaluated model; nothing published")
    return staged


def back_up(settings: Settings, started: datetime) -> str | None:
    """Copy the sound active pair aside before it is replaced (its path; None when backups are off or none)."""
    if not settings.backup_models:
        return None
    backup = store.backup_if_sound(settings.models_dir, started, settings.backups_kept)
    if backup is None:
        return None
    log.info("Models backed up to %s", backup)
    return str(backup.resolve())


def publish(settings: Settings, staged: Any) -> None:
    """Swap the staged pair in: the point of no return, from here on the candidate is live."""
    store.publish(settings.models_dir, staged)


def record(history: History, run_id: str, why: str, backup_path: str | None, before: dict[str, Any] | None,
           after: dict[str, Any], occurred_at: str) -> str | None:
    """The publish event; the warning to keep when it could not be recorded (None when it was)."""
    return record_swap(history, ModelEvent("publish", run_id, why, backup_path, manifest_before=before,
                                           manifest_after=after, occurred_at=occurred_at,
                                           event_id=publish_event_id(run_id)))
