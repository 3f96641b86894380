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


def backup_json(info: Any) -> dict[str, Any]:
    manifest = info.manifest or {}
    return {"name": info.name, "path": str(info.path), "verifies": info.verifies, "problem": info.problem,
            "run_id": manifest.get("run_id"), "created_at": manifest.get("created_at"),
            "training_type": manifest.get("training_type"), "test_auc": manifest.get("metrics", {}).get("test_auc"),
            "data_start": manifest.get("data", {}).get("start"), "data_end": manifest.get("data", {}).get("end")}


def backups_table(backups: list[Any], models_dir: Any) -> Any:
    """`rollback --list`: newest first, with whether each backup verifies and why not."""
    from rich.table import Table

    table = Table(title=f"Backups in {models_dir}/backups (newest first; `rollback` restores the first)",
                  title_justify="left")
    for column in ("Backup (WIB)", "Run id", "Type", "Test AUC", "Training data (WIB)", "Verifies"):
        table.add_column(column, no_wrap=column != "Verifies")
    for info in backups:
        row = backup_json(info)
        data = f"{_when(row['data_start'])} -> {_when(row['data_end'])}" if row["data_start"] else "-"
        verdict = "[green]yes[/]" if info.verifies else f"[red]no[/]: {_short(info.problem, 90)}"
        table.add_row(info.name, row["run_id"] or "-", row["training_type"] or "-", _num(row["test_auc"]), data, verdict)
    if not backups:
        table.add_row("(none)", "", "", "", "", "")
    return table


def auc_json(result: Any, settings: Any) -> dict[str, Any]:
    manifest = result.manifest
    metrics = manifest.get("metrics", {})
    return {
        "run_id": manifest["run_id"], "trained_at": manifest.get("created_at"),
        "training_type": manifest.get("training_type"), "data": manifest.get("data"),
        "train_auc": metrics.get("train_auc"), "test_auc": metrics.get("test_auc"),
        "test_auc_ci95": metrics.get("test_auc_ci95"),
        "thresholds": {"min_auc_threshold": settings.min_auc_threshold, "floor": settings.rollback_auc_threshold},
        "live_taken_now": asdict(result.taken_now) if result.taken_now else None,
        "live_latest": asdict(result.latest) if result.latest else None,
        "current_auc": result.current_auc, "current_source": result.current_source, "status": result.status,
        "emergency_retrain_due": result.emergency.due and result.emergency.training_type == "emergency",
        "decision": result.emergency.to_json(), "exit_code": result.exit_code,
    }


def auc_panel(result: Any, settings: Any) -> Any:
    """`autotrainer auc`: what the active model is, how good it was, how good it is now, what happens next."""
    from rich.table import Table

    data = auc_json(result, settings)
    table = Table(show_header=False, title=f"Active model {data['run_id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    low, high = data["test_auc_ci95"] or (None, None)
    d = data["data"] or {}
    table.add_row("Trained", f"{_when(data['trained_at'])} ({data['training_type']}, {d.get('bars')} bars)")
    table.add_row("Training data", f"{_when(d.get('start'))} -> {_when(d.get('end'))} ({d.get('source')})")
    table.add_row("Train / test AUC", f"{_num(data['train_auc'])} / {_num(data['test_auc'])} "
                                      f"[95% CI {_num(low, 3)}-{_num(high, 3)}]")
    table.add_row("Thresholds", f"OK >= {settings.min_auc_threshold}, WARNING >= {settings.rollback_auc_threshold}, "
                                f"BELOW FLOOR < {settings.rollback_auc_threshold}")
    if result.taken_now is not None:
        table.add_row("Live now", _live_text(result.taken_now, settings))
    table.add_row("Newest live AUC", _live_text(result.latest, settings) if result.latest else "none yet")
    colour = {"OK": "green", "WARNING": "yellow", "BELOW FLOOR": "bold red"}.get(result.status, "")
    table.add_row("Status", f"[{colour}]{result.status}[/] ({result.current_source} AUC {_num(result.current_auc)})")
    decision = result.emergency
    fires = decision.due and decision.training_type == "emergency"
    table.add_row("Emergency retrain", ("would fire now: " if fires else "would not fire: ") + decision.reason)
    return table


def _live_text(check: Any, settings: Any) -> str:
    if check.auc is None:
        return (f"not enough new bars yet ({check.bars_scored} scored after the training data, "
                f"need {settings.min_live_bars})")
    return (f"{check.auc:.4f} [95% CI {check.auc_low:.3f}-{check.auc_high:.3f}] on {check.bars_scored} bars "
            f"{_when(check.data_start)} -> {_when(check.data_end)}, measured {_when(check.measured_at)}")
