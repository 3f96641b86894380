"""A record's row reads its values instead of deep-copying them: the row, JSON text included, is the one
`asdict` gave, for runs, events carrying real manifests and live checks."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from autotrainer.history.records import AucCheck, ModelEvent, RunRecord, dashboard_columns, to_row

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "release-0.x" / "models"


def _copied(record: Any) -> dict[str, Any]:
    """The row as it was built first: from a deep copy of the record."""
    row = asdict(record) | (dashboard_columns(record) if isinstance(record, RunRecord) else {})
    row.pop("id", None)
    return {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()}


def test_rows_equal_those_of_a_deep_copy() -> None:
    manifests = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURE.rglob("manifest.json"))]
    assert len(manifests) >= 2
    run = RunRecord(run_id="r1", training_type="daily", bars_used=8000, num_boost_rounds=50,
                    started_at="2026-03-02T22:00:00+00:00", warnings=["a", "b \u00e9"], test_auc=0.51234)
    records = [run, RunRecord(run_id="r2", training_type="weekend", bars_used=None, num_boost_rounds=80,
                              started_at=None),
               ModelEvent("publish", "r1", "why", "/backups/x", manifest_before=manifests[0],
                          manifest_after=manifests[1], occurred_at="2026-03-02T22:01:00+00:00"),
               ModelEvent("rejection", "r2", "why", manifest_before=None, occurred_at="2026-03-02T22:01:00+00:00"),
               AucCheck(model_run_id="r1", auc=0.52, auc_low=0.5, auc_high=0.54, bars_scored=900, status="ok",
                        measured_at="2026-03-03T00:00:00+00:00")]
    for record in records:
        assert to_row(record) == _copied(record)
        assert list(to_row(record)) == list(_copied(record))  # same columns in the same order
