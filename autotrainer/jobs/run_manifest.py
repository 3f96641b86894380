"""The manifest a retrain writes for its candidate: what the pair is, how it was made and how well it did.

It names the two model files (with their SHA-256, added by `store.stage`), the ordered feature list and
how to compute it, the regime states, the metrics with the test AUC's interval, the training data's range
and fingerprint, the settings (no secrets), the audit these features passed and the library versions.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autotrainer.config import Settings
from autotrainer.history.records import RunRecord
from autotrainer.store.manifest import library_versions, published_thresholds
from autotrainer.timeutil import iso


def build_manifest(settings: Settings, record: RunRecord, regime: Any, outcome: Any, test_rows: Any, frame: Any,
                   spec: Any, audit: Any, created_at: datetime, signals: Any, measured: Any) -> dict[str, Any]:
    """Everything needed to trust and serve the pair; `store.stage` adds the files and their checksums.
    `measured` (jobs.net_edge.Measured) holds the threshold the bot acts at (chosen on the validation slice
    under 'auto') and the test slice's edge after costs at it."""
    return {
        "run_id": record.run_id,
        "created_at": iso(created_at),
        "training_type": record.training_type,
        "trigger": record.trigger,
        "symbol": settings.symbol,
        "timeframe": settings.timeframe,
        "status": record.status,
        "features": list(test_rows.columns),
        "feature_spec": spec.to_manifest(),  # how the bot recomputes them (built-ins, plugins)
        "audit": audit.manifest_entry(),  # the look-ahead audit these features passed
        "confidence_threshold": measured.threshold.value,  # a number: the bot reads it
        "thresholds": published_thresholds(settings),  # what it was judged by: `auc` judges it by these too
        "lookahead": settings.lookahead,
        "regime": {"states": regime.state_names, "lookback": regime.lookback,
                   "shares_in_training": outcome.regime_shares, "fit": regime.fit_info},
        "metrics": {
            "train_auc": record.train_auc, "test_auc": record.test_auc,
            "test_auc_low": record.test_auc_low, "test_auc_high": record.test_auc_high,  # 95% DeLong interval
            "validation_auc": record.validation_auc, "train_accuracy": record.train_accuracy,
            "test_accuracy": record.test_accuracy, "best_iteration": record.best_iteration,
            "rounds_requested": record.num_boost_rounds, "split": outcome.split,
            "top_features": dict(outcome.top_features),
            "signals": signals.to_json(),  # what the bot would have done on the test slice at confidence_threshold
            "edge": measured.to_json(),  # its net return after costs there, with interval, baselines and verdict
        },
        "data": {
            "source": record.source, "bars": record.bars_used, "start": record.data_start, "end": record.data_end,
            "fingerprint": record.data_fingerprint,
            "test_start": iso(frame["time"].loc[test_rows.index[0]].to_pydatetime()),
            "test_end": iso(frame["time"].loc[test_rows.index[-1]].to_pydatetime()),
        },
        "settings": settings.public_dict(),
        "recipe_digest": record.recipe_digest,  # settings and code that made it: an equal run is skipped
        "versions": library_versions(),
    }
