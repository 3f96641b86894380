"""Retrains that cannot change anything are not run.

A model is a function of its bars, the settings that shape or judge it, and the code (ours, the plugins' and
the libraries'). When all three equal those of the last run that trained (published or rejected), training
again gives a byte-identical candidate and the same verdict: the run is skipped instead. The settings and
code go into one digest (`recipe_digest`), stored on the run record and in the manifest; the bars already
have their fingerprint. The comparison happens once the bars are read, at the start of the retrain.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from autotrainer.config import Settings
from autotrainer.errors import UnchangedInputsError
from autotrainer.history.records import RunRecord
from autotrainer.history.service import History
from autotrainer.rules import REJECTED
from autotrainer.schedule.facts import TRAINED  # runs that trained a candidate and judged it

# Settings that cannot change the candidate or its verdict: where things are written, when runs are due,
# how bars are fetched (the bars themselves are compared by fingerprint), and this rule's own switch. The
# per-type bar and round tables are replaced by the rounds this run uses. Everything else is compared.
RUN_INDEPENDENT = frozenset({
    "home", "models_dir", "data_dir", "log_file", "lock_timeout_seconds", "use_db", "database",
    "daily_retrain_hour_wib", "retrain_window_minutes", "weekend_retrain", "min_hours_between_retrain",
    "emergency_min_hours", "auto_retrain_on_low_auc", "emergency_rule", "drift_emergency_share", "backup_models",
    "backups_kept",
    "min_live_bars", "min_bars", "mt5_path", "mt5_login_set", "mt5_password_set", "mt5_server", "mt5_timeout_ms",
    "mt5_attempts", "mt5_retry_seconds", "max_bar_age_hours", "allow_stale_data", "check_server_clock",
    "skip_unchanged", "dashboard_metrics_file", "notify_on", "notify_timeout_seconds",  # where results are told
    *(f"{kind}_{what}" for kind in ("initial", "daily", "weekend", "emergency") for what in ("bars", "rounds")),
})
# A swap of the active pair outside a retrain changes the champion a candidate is judged against.
SWAPS = ("rollback", "restore")
UNCHANGED = "nothing changed since the last trained run"  # how a skipped run's reason begins


def recipe_digest(settings: Settings, rounds: int) -> str:
    """SHA-256 of the settings that shape or judge the model, the rounds, and the code that trains it."""
    from autotrainer.features.plugins import FeatureSpec
    from autotrainer.store.manifest import library_versions

    compared = {k: v for k, v in settings.public_dict().items() if k not in RUN_INDEPENDENT}
    recipe = {"settings": compared, "rounds": rounds, "package": package_digest(),
              "versions": library_versions(), "features": FeatureSpec.from_settings(settings).to_manifest()}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True, default=str).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1)
def package_digest() -> str:
    """SHA-256 of autotrainer's own source files: an edit between releases counts as new code. Read once a
    process: the code a process runs was loaded when it started, and a replay asks at every one of its runs."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode("utf-8"))
        digest.update(path.read_bytes())
    return digest.hexdigest()


def require_change(history: History, record: RunRecord) -> None:
    """Raise UnchangedInputsError when the last trained run had this run's bars, settings and code and the
    active pair has not been swapped since: training again would only repeat it."""
    last = history.latest(None, TRAINED)
    if (last is None or last.run_id == record.run_id or last.data_fingerprint != record.data_fingerprint
            or last.recipe_digest != record.recipe_digest):
        return
    if any(event.kind in SWAPS for event in history.events_since(last.started_at)):
        return
    raise UnchangedInputsError(
        f"{UNCHANGED}: the bars (fingerprint {record.data_fingerprint[:12]}), settings and code are those of run {last.run_id} "
        f"({_outcome(last)}): training again would give a byte-identical model and the same verdict, so "
        "nothing was trained ('retrain --force' trains anyway; setting 'skip_unchanged')")


def _outcome(last: RunRecord) -> str:
    return "rejected" if last.status == REJECTED else "published"

