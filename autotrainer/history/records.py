"""What the history records: training runs, model events and live AUC checks, as plain records.

The record types are apart from where they are kept (`service` decides database or outbox, `database` maps
them to tables), as MLflow keeps its entities apart from its stores: so the database layer and the client
never import each other.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any

from autotrainer import __version__
from autotrainer.history import words
from autotrainer.rules import REJECTED, auc_band, sample_count
from autotrainer.timeutil import as_utc, iso, utc_now

KEYS = {"training_runs": "run_id", "model_events": "event_id", "auc_checks": "check_id"}
# The database keeps the seed's value for a rejected candidate; everything people and scripts read says this.
STATUS_WORDS = {REJECTED: "rejected"}
STATUS_OF_WORD = {word: status for status, word in STATUS_WORDS.items()}
TIME_FIELDS = {"started_at", "completed_at", "data_start", "data_end", "occurred_at", "measured_at"}


@dataclass
class RunRecord:
    """One training run. The first block is the seed's `training_runs` columns, in order."""

    id: int | None = None
    training_type: str = "daily"
    bars_used: int | None = None
    num_boost_rounds: int | None = None
    started_at: str | None = None
    completed_at: str | None = None
    duration_seconds: float | None = None
    hmm_trained: bool = False
    xgb_trained: bool = False
    train_auc: float | None = None
    test_auc: float | None = None
    train_accuracy: float | None = None
    test_accuracy: float | None = None
    model_path: str | None = None
    backup_path: str | None = None
    success: bool = False
    error_message: str | None = None
    # What an operator needs on top of the seed.
    run_id: str = ""
    status: str = "running"  # running, success, warning, rolled_back, skipped, failed, interrupted
    trigger: str = "manual"
    reason: str = ""
    symbol: str = ""
    timeframe: str = ""
    source: str = ""
    data_start: str | None = None
    data_end: str | None = None
    data_fingerprint: str | None = None
    feature_count: int | None = None
    validation_auc: float | None = None
    test_auc_low: float | None = None
    test_auc_high: float | None = None
    best_iteration: int | None = None
    champion_auc: float | None = None
    champion_auc_difference: float | None = None  # candidate - champion on the shared bars (paired DeLong)
    champion_difference_low: float | None = None
    champion_difference_high: float | None = None
    champion_p_value: float | None = None  # one-sided: the candidate is worse
    signal_coverage: float | None = None  # test slice, at the manifest's confidence_threshold
    signal_buys: int | None = None
    signal_sells: int | None = None
    signal_hit_rate: float | None = None
    signal_hit_rate_low: float | None = None  # Wilson 95%
    signal_hit_rate_high: float | None = None
    brier: float | None = None
    auc_floor: float | None = None  # publish_floor_auc this run was judged by (migration 0006)
    auc_target: float | None = None  # min_auc_threshold this run was judged by
    # The test slice's edge after costs at the threshold the bot acts at (migration 0007; jobs.net_edge).
    confidence_threshold: float | None = None  # the manifest's: chosen on the validation slice under 'auto'
    edge_verdict: str | None = None  # edge demonstrated / losing after costs / no evidence of an edge / no signals
    edge_signals: int | None = None
    edge_mean: float | None = None  # net return per signal, price units
    edge_low: float | None = None  # its 95% interval (edge_method in --json and the manifest)
    edge_high: float | None = None
    edge_total: float | None = None
    edge_profit_factor: float | None = None
    edge_mean_spreads: float | None = None  # edge_mean in average spreads
    edge_always_long_mean: float | None = None  # the drift baseline on the same bars
    edge_point: float | None = None
    edge_cost_source: str | None = None  # where the point and the spread came from
    recipe_digest: str | None = None  # settings and code that made the model (jobs/recipe.py; migration 0008)
    sample_count: int | None = None  # rows trained and tested: fit + validation + test (migration 0009)
    manifest_sha256: str | None = None
    warnings: list[str] = field(default_factory=list)
    host: str = field(default_factory=socket.gethostname)
    tool_version: str = __version__
    snapshot_seq: int = 0  # +2 for each snapshot the run's own process writes, +1 for another's guess (see below)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def auc_band(self) -> str | None:
        """success / warning / below floor against the thresholds this run was judged by; a published run of
        a version that did not record them keeps the band its status names."""
        if self.status in ("success", "warning"):
            return self.status
        return auc_band(self.test_auc, self.auc_floor, self.auc_target)

    def to_json(self) -> dict[str, Any]:
        """The record as `--json` prints it: `status` as before ('rejected', not the seed's 'rolled_back',
        which stays in the database column), plus the outcome and the AUC band as separate fields."""
        return self.to_dict() | {"status": STATUS_WORDS.get(self.status, self.status),
                                 "outcome": words.outcome(self.status), "auc_band": self.auc_band}


@dataclass
class ModelEvent:
    """A change (or refused change) of the published pair: publish, rollback, rejection, restore."""

    kind: str
    run_id: str | None = None
    reason: str = ""
    backup_path: str | None = None
    manifest_before: dict[str, Any] | None = None
    manifest_after: dict[str, Any] | None = None
    occurred_at: str = field(default_factory=lambda: iso(utc_now()) or "")
    event_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    host: str = field(default_factory=socket.gethostname)
    id: int | None = None


@dataclass
class AucCheck:
    """A live AUC measurement of the active model on bars that closed after its training data."""

    model_run_id: str | None
    auc: float | None
    auc_low: float | None
    auc_high: float | None
    bars_scored: int
    status: str
    data_start: str | None = None
    data_end: str | None = None
    measured_at: str = field(default_factory=lambda: iso(utc_now()) or "")
    signal_coverage: float | None = None  # live bars, at the manifest's confidence_threshold
    signal_count: int | None = None
    signal_hit_rate: float | None = None
    signal_hit_rate_low: float | None = None  # Wilson 95%
    signal_hit_rate_high: float | None = None
    brier: float | None = None
    drift_bars: int | None = None  # bars since training the drift figures are computed on (models.guard.drift)
    drift_share: float | None = None  # share of the model's inputs whose PSI exceeds 0.2 on those bars
    psi_max: float | None = None
    guard_withheld_share: float | None = None  # share of those bars the guard withheld the signal on
    check_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    id: int | None = None


RECORD_TYPES: dict[str, type] = {"training_runs": RunRecord, "model_events": ModelEvent, "auc_checks": AucCheck}
TABLE_OF = {cls: table for table, cls in RECORD_TYPES.items()}


def supersedes(row: dict[str, Any], current: dict[str, Any] | None) -> bool:
    """Whether snapshot `row` may replace `current` of the same record: never one with a lower snapshot_seq
    (rows without one, from older versions and other kinds of record, count as 0; ties go to the later)."""
    return current is None or (row.get("snapshot_seq") or 0) >= (current.get("snapshot_seq") or 0)


def to_row(record: Any) -> dict[str, Any]:
    """A record as a JSON-able row: lists and manifests become JSON text, the db id is left to the db. The
    values are read, not copied (as `asdict` would, manifests and all): the JSON text is the same."""
    row = {f.name: getattr(record, f.name) for f in fields(record)}
    row |= dashboard_columns(record) if isinstance(record, RunRecord) else {}
    row.pop("id", None)
    for key, value in row.items():
        if isinstance(value, (list, dict)):
            row[key] = json.dumps(value)
    return row


def dashboard_columns(record: RunRecord) -> dict[str, Any]:
    """The two columns of the bot's dashboard query that name what the record keeps under our names
    (migration 0009): the feature count, and the decision's reason in words (a manual run has none: its words)."""
    reason = record.reason or {"manual": "manual retrain (autotrainer retrain)"}.get(record.trigger, record.trigger)
    return {"features_used": record.feature_count, "trigger_reason": reason or None}


def from_row(table: str, row: dict[str, Any]) -> Any:
    """The record for a row read from the database or a journal (unknown columns are ignored)."""
    cls = RECORD_TYPES[table]
    values = {}
    for f in fields(cls):
        if f.name not in row:
            continue
        value = row[f.name]
        if f.name in TIME_FIELDS and isinstance(value, datetime):
            value = iso(as_utc(value))
        elif f.name in ("warnings", "manifest_before", "manifest_after") and isinstance(value, str):
            value = json.loads(value)
        elif f.name == "warnings" and value is None:
            value = []
        values[f.name] = value
    return cls(**values)


@dataclass(frozen=True)
class LivePair:
    """The pair the bot serves, as the history needs it to settle a run that died after making it live."""

    manifest: dict[str, Any]
    manifest_path: str
    manifest_sha256: str


def publish_event_id(run_id: str) -> str:
    """The id of a run's publish event: one per run, so a recovered copy never duplicates the original."""
    return f"publish-{run_id}"


MANIFEST_METRICS = ("train_auc", "test_auc", "test_auc_low", "test_auc_high", "validation_auc", "train_accuracy",
                    "test_accuracy", "best_iteration")
MANIFEST_SIGNALS = ("signal_coverage", "signal_buys", "signal_sells", "signal_hit_rate", "signal_hit_rate_low",
                    "signal_hit_rate_high", "brier")
MANIFEST_CHAMPION = {"champion_auc": "champion_auc", "champion_auc_difference": "difference",
                     "champion_difference_low": "difference_low", "champion_difference_high": "difference_high",
                     "champion_p_value": "p_value"}


def as_published(record: RunRecord, live: LivePair) -> None:
    """What a run that died after its publish would have recorded, from the manifest it made live (the
    manifest holds every number the run computed; the duration up to the manifest's creation)."""
    manifest = live.manifest
    metrics, data = manifest.get("metrics") or {}, manifest.get("data") or {}
    signals, champion = metrics.get("signals") or {}, metrics.get("champion") or {}
    record.status = manifest.get("status") if manifest.get("status") in ("success", "warning") else "success"
    record.success = record.hmm_trained = record.xgb_trained = True
    record.error_message = None
    for name in MANIFEST_METRICS:
        setattr(record, name, metrics.get(name))
    for name in MANIFEST_SIGNALS:
        setattr(record, name, signals.get(name))
    for name, key in MANIFEST_CHAMPION.items():
        setattr(record, name, champion.get(key))
    record.bars_used, record.data_fingerprint = data.get("bars"), data.get("fingerprint")
    record.data_start, record.data_end = data.get("start"), data.get("end")
    record.feature_count = len(manifest["features"])
    record.sample_count = sample_count(metrics.get("split") or {})
    record.model_path, record.manifest_sha256 = live.manifest_path, live.manifest_sha256
    record.completed_at = manifest.get("created_at") or iso(utc_now())
    if record.started_at and record.completed_at:
        elapsed = datetime.fromisoformat(record.completed_at) - datetime.fromisoformat(record.started_at)
        record.duration_seconds = round(max(elapsed.total_seconds(), 0.0), 3)
    record.warnings.append("the process stopped after publishing this pair; recorded from its manifest by the next "
                           "run under the lock")
