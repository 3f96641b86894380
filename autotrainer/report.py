"""Rendering history for people (a rich table), scripts (JSON) and spreadsheets (CSV).

Runs and model events are interleaved newest first; times are shown in WIB.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from typing import Any

from autotrainer.history import HistoryView, ModelEvent, RunRecord
from autotrainer.timeutil import wib_text

ERROR_WIDTH = 60


def _when(text: str | None) -> str:
    return wib_text(datetime.fromisoformat(text)) if text else "-"


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _auc(run: RunRecord) -> str:
    if run.test_auc is None:
        return "-"
    if run.test_auc_low is None:
        return _num(run.test_auc)
    return f"{run.test_auc:.4f} [{run.test_auc_low:.3f}-{run.test_auc_high:.3f}]"


def _short(text: str | None, width: int = ERROR_WIDTH) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def timeline(view: HistoryView) -> list[RunRecord | ModelEvent]:
    """Runs and events in one list, newest first."""
    items: list[RunRecord | ModelEvent] = [*view.runs, *view.events]
    items.sort(key=lambda i: (i.started_at or "") if isinstance(i, RunRecord) else i.occurred_at, reverse=True)
    return items


def summary(runs: list[RunRecord]) -> str:
    """'5 runs, 60% published, last success 2026-11-24 05:00 WIB, mean test AUC 0.5123'."""
    finished = [r for r in runs if r.status != "running"]
    published = [r for r in finished if r.status in ("success", "warning")]
    rate = f"{len(published) / len(finished):.0%} published" if finished else "none finished"
    last = max((r.completed_at or "" for r in published), default="")
    aucs = [r.test_auc for r in runs if r.test_auc is not None]
    mean = f"mean test AUC {sum(aucs) / len(aucs):.4f}" if aucs else "no test AUC"
    return f"{len(runs)} runs, {rate}, last success {_when(last) if last else 'never'}, {mean} (shown runs)"


def render_table(view: HistoryView) -> Any:
    """A rich Table of the timeline (runs as rows, events as dimmed rows between them)."""
    from rich.table import Table

    table = Table(title=f"History — {view.origin}", title_justify="left", show_lines=False)
    for column, justify in (("When (WIB)", "left"), ("Type", "left"), ("Trigger", "left"), ("Bars", "right"),
                            ("Rounds", "right"), ("Train AUC", "right"), ("Test AUC [95% CI]", "right"),
                            ("Acc", "right"), ("Dur", "right"), ("Status", "left"), ("Backup / note", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "Backup / note")
    styles = {"success": "green", "warning": "yellow", "rolled_back": "magenta", "failed": "bold red",
              "skipped": "cyan", "interrupted": "red", "running": "blue"}
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            table.add_row(_when(item.occurred_at).removesuffix(" WIB"), f"event: {item.kind}", "", "", "", "", "", "",
                          "", "", _short(f"{item.run_id or ''} {item.reason}"), style="dim")
            continue
        note = _short(item.error_message) or (item.backup_path or "")
        table.add_row(_when(item.started_at).removesuffix(" WIB"), item.training_type, item.trigger,
                      str(item.bars_used or "-"), str(item.num_boost_rounds or "-"), _num(item.train_auc), _auc(item),
                      _num(item.test_accuracy, 3), f"{item.duration_seconds:.1f}s" if item.duration_seconds else "-",
                      f"[{styles.get(item.status, '')}]{item.status}[/]", note)
    return table


def to_json(view: HistoryView) -> dict[str, Any]:
    items = [{"entry": "run" if isinstance(i, RunRecord) else "event", **asdict(i)} for i in timeline(view)]
    return {"origin": view.origin, "note": view.note, "items": items, "summary": summary(view.runs)}


CSV_COLUMNS = ["when", "entry", "training_type", "trigger", "bars_used", "num_boost_rounds", "train_auc", "test_auc",
               "test_auc_low", "test_auc_high", "train_accuracy", "test_accuracy", "duration_seconds", "status",
               "backup_path", "run_id", "error_or_reason"]


def to_csv(view: HistoryView) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            writer.writerow({"when": item.occurred_at, "entry": f"event:{item.kind}", "run_id": item.run_id,
                             "backup_path": item.backup_path, "error_or_reason": item.reason})
        else:
            writer.writerow({**asdict(item), "when": item.started_at, "entry": "run",
                             "error_or_reason": item.error_message or ""})
    return out.getvalue()
