"""Rendering history for people (a rich table), scripts (JSON) and spreadsheets (CSV).

Runs and model events are interleaved newest first; times are shown in WIB.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import datetime
from typing import Any

from autotrainer.history import words
from autotrainer.history.records import STATUS_WORDS, ModelEvent, RunRecord
from autotrainer.history.service import HistoryView
from autotrainer.rules import REJECTED
from autotrainer.timeutil import wib_text

ERROR_WIDTH = 60
def status_label(status: str) -> str:
    """The chart style of a run status (charts.OUTCOME_STYLE): 'rejected' for the seed's 'rolled_back', the
    band for a published run. People read `words.outcome_text` instead."""
    return STATUS_WORDS.get(status, status)


def run_outcome(run: RunRecord) -> str:
    """'published (AUC warning)': the outcome, then the AUC band it was judged in."""
    return words.outcome_text(run.status, run.auc_band)


def when_wib(text: str | None) -> str:
    return wib_text(datetime.fromisoformat(text)) if text else "-"


def number_text(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _auc(run: RunRecord) -> str:
    if run.test_auc is None:
        return "-"
    if run.test_auc_low is None:
        return number_text(run.test_auc)
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
    """'5 runs, 60% published, last published 2026-11-24 05:00 WIB, mean test AUC 0.5123'."""
    finished = [r for r in runs if r.status != "running"]
    published = [r for r in finished if words.outcome(r.status) == "published"]
    rate = f"{len(published) / len(finished):.0%} published" if finished else "none finished"
    last = max((r.completed_at or "" for r in published), default="")
    aucs = [r.test_auc for r in runs if r.test_auc is not None]
    mean = f"mean test AUC {sum(aucs) / len(aucs):.4f}" if aucs else "no test AUC"
    return f"{len(runs)} runs, {rate}, last published {when_wib(last) if last else 'never'}, {mean} (shown runs)"


def _hit(run: RunRecord) -> str:
    if run.signal_coverage is None:
        return "-"
    if run.signal_hit_rate is None:
        return "no signal"
    return f"{run.signal_hit_rate:.2f} [{run.signal_hit_rate_low:.2f}-{run.signal_hit_rate_high:.2f}]"


EDGE_WORDS = {"edge demonstrated": "edge", "losing after costs": "losing", "no evidence of an edge": "no evidence"}


def edge_cell(run: RunRecord) -> str:
    """The test slice's edge after costs in a history cell: 'no evidence -0.021', 'edge +0.034', 'no signals'."""
    if run.edge_verdict is None:
        return "-"
    if run.edge_mean is None:
        return run.edge_verdict
    return f"{EDGE_WORDS.get(run.edge_verdict, run.edge_verdict)} {run.edge_mean:+.3f}"


STATUS_STYLES = {"success": "green", "warning": "yellow", REJECTED: "magenta", "failed": "bold red",
                 "skipped": "cyan", "interrupted": "red", "running": "blue"}
NOTE_MIN = 16  # the wide table's note column folds: narrower, its reasons take more lines but are never cut
WIDE = 190  # from this console width on, one table row per entry with every column; below, two lines each


def _event_note(event: ModelEvent) -> str:
    """A rejection's reason already stands in its run's row; other events carry their own (a rollback's is
    the operator's)."""
    if event.kind == "rejection":
        return f"run {event.run_id} not published (reason in its run row)"
    return " ".join(f"{event.run_id or ''} {event.reason}".split())


def render_table(view: HistoryView, width: int = 200) -> Any:
    """The timeline, newest first, fitted to `width`: a table on a wide console, two lines per entry (facts,
    then the wrapped note) on a narrow one, so the reasons are never cut off. Rounds and accuracy (in --json
    and --csv) gave their place to the edge after costs: what the bot's signals earn decides, not accuracy."""
    if width < WIDE:
        return _history_lines(view, width)
    from rich.table import Table

    table = Table(title=f"History — {view.origin}", title_justify="left", expand=False)
    for header, justify in (("When (WIB)", "left"), ("Type", "left"), ("Trigger", "left"), ("Bars", "right"),
                            ("Train AUC", "right"), ("Test AUC [95% CI]", "right"), ("Hit rate [CI]", "right"),
                            ("Edge/signal", "right"), ("Dur", "right"), ("Outcome", "left")):
        table.add_column(header, justify=justify, no_wrap=True)
    table.add_column("Note", overflow="fold", ratio=1, min_width=NOTE_MIN)
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            table.add_row(when_wib(item.occurred_at).removesuffix(" WIB"), f"event: {item.kind}", *[""] * 8,
                          _event_note(item), style="dim")
            continue
        table.add_row(when_wib(item.started_at).removesuffix(" WIB"), item.training_type, item.trigger,
                      str(item.bars_used or "-"), number_text(item.train_auc), _auc(item), _hit(item), edge_cell(item),
                      f"{item.duration_seconds:.1f}s" if item.duration_seconds else "-",
                      f"[{STATUS_STYLES.get(item.status, '')}]{run_outcome(item)}[/]",
                      " ".join((item.error_message or item.backup_path or "").split()))
    return table


def _history_lines(view: HistoryView, width: int) -> Any:
    """Narrow consoles: a line of facts per entry, its edge after costs and its note indented beneath it."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    roomy = width >= 110  # trigger, bars and hit rate fit beside the essentials
    lines: list[Any] = [Text(f"History — {view.origin}", style="italic")]
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            lines.append(Text(f"{when_wib(item.occurred_at).removesuffix(' WIB')}  event: {item.kind}", style="dim"))
            lines.append(Padding(Text(_event_note(item), style="dim"), (0, 0, 0, 4)))
            continue
        facts = Text(f"{when_wib(item.started_at).removesuffix(' WIB')}  {item.training_type:<9}  ")
        if roomy:
            facts.append(f"{item.trigger:<9}  {str(item.bars_used or '-'):>5} bars  ")
        facts.append(f"AUC {_auc(item)}  ")
        if roomy:
            facts.append(f"hit {_hit(item)}  ")
        facts.append(run_outcome(item), style=STATUS_STYLES.get(item.status, ""))
        lines.append(facts)
        if item.edge_verdict is not None:  # a line of its own: it fits beside the facts on no narrow console
            per_signal = f" per signal, {item.edge_signals} signals" if item.edge_mean is not None else ""
            lines.append(Padding(Text(f"edge after costs: {edge_cell(item)}{per_signal}"), (0, 0, 0, 4)))
        note = " ".join((item.error_message or item.backup_path or "").split())
        if note:
            lines.append(Padding(Text(note), (0, 0, 0, 4)))
    return Group(*lines)


def plot_history(view: HistoryView, settings: Any, path: Any) -> Any:
    """`history --plot`: the shown runs' test AUC with its 95% interval over time, outcome marked, each judged
    by the thresholds it ran under, the live model marked, rollbacks and restores drawn."""
    from autotrainer.report import charts
    from autotrainer.store import pairs as store

    live = (store.active_state(settings.models_dir).manifest or {}).get("run_id")
    points = [charts.RunPoint(datetime.fromisoformat(r.started_at), r.test_auc, r.test_auc_low, r.test_auc_high,
                              status_label(r.status), r.training_type == "emergency",
                              charts.Thresholds(r.auc_floor, r.auc_target) if r.auc_floor is not None
                              and r.auc_target is not None else None, r.run_id == live and r.status != "running")
              for r in view.runs if r.started_at]
    events = [(datetime.fromisoformat(e.occurred_at), e.kind) for e in view.events if e.kind in ("rollback", "restore")]
    title = f"Run history: {len(points)} runs ({view.kind})"  # no address in a picture, not even a masked one
    return charts.run_history(path, points, charts.Thresholds(settings.publish_floor_auc,
                                                                settings.min_auc_threshold), title, events)


def to_json(view: HistoryView) -> dict[str, Any]:
    items = [{"entry": "run", **i.to_json()} if isinstance(i, RunRecord) else {"entry": "event", **asdict(i)}
             for i in timeline(view)]
    return {"origin": view.origin, "note": view.note, "items": items, "summary": summary(view.runs)}


CSV_COLUMNS = ["when", "entry", "training_type", "trigger", "bars_used", "num_boost_rounds", "train_auc", "test_auc",
               "test_auc_low", "test_auc_high", "train_accuracy", "test_accuracy", "duration_seconds", "status",
               "backup_path", "run_id", "error_or_reason", "outcome", "auc_band", "auc_floor", "auc_target",
               "confidence_threshold", "edge_verdict", "edge_signals", "edge_mean", "edge_low", "edge_high"]


def to_csv(view: HistoryView) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            writer.writerow({"when": item.occurred_at, "entry": f"event:{item.kind}", "run_id": item.run_id,
                             "backup_path": item.backup_path, "error_or_reason": item.reason})
        else:
            writer.writerow({**item.to_json(), "when": item.started_at, "entry": "run",
                             "error_or_reason": item.error_message or ""})
    return out.getvalue()


def backup_json(info: Any) -> dict[str, Any]:
    manifest = info.manifest or {}
    return {"name": info.name, "path": str(info.path), "active": info.active, "verifies": info.verifies,
            "problem": info.problem, "run_id": manifest.get("run_id"), "created_at": manifest.get("created_at"),
            "training_type": manifest.get("training_type"), "test_auc": manifest.get("metrics", {}).get("test_auc"),
            "data_start": manifest.get("data", {}).get("start"), "data_end": manifest.get("data", {}).get("end")}


BACKUPS_ROOMY = 120  # from this console width on, `rollback --list` also shows each backup's type and data


def backups_table(backups: list[Any], models_dir: Any, width: int = 200) -> Any:
    """`rollback --list`: newest first, which one is live, whether each verifies and why not. Fitted to
    `width`: the backup name (what `--to` takes) is never cut; narrower consoles drop type and data."""
    from rich import box
    from rich.table import Table

    roomy = width >= BACKUPS_ROOMY
    table = Table(title=f"Backups in {models_dir}/backups, newest first; `rollback` restores the newest one that "
                        f"is not active", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    longest = max([len(info.name) for info in backups] + [len("Backup (WIB)")])
    table.add_column("Backup (WIB)", no_wrap=True, min_width=longest)
    table.add_column("Active", no_wrap=True)
    table.add_column("Run id", overflow="fold")
    if roomy:
        table.add_column("Type")
    table.add_column("Test AUC", justify="right")
    if roomy:
        table.add_column("Training data (WIB)")
    table.add_column("Verifies", overflow="fold", ratio=1)
    for info in backups:
        row = backup_json(info)
        data = f"{when_wib(row['data_start'])} -> {when_wib(row['data_end'])}" if row["data_start"] else "-"
        verdict = "[green]yes[/]" if info.verifies else f"[red]no[/]: {_short(info.problem, 90)}"
        cells = [info.name, "[bold]yes[/]" if info.active else "", row["run_id"] or "-"]
        cells += [row["training_type"] or "-"] if roomy else []
        cells += [number_text(row["test_auc"])] + ([data] if roomy else []) + [verdict]
        table.add_row(*cells)
    if not backups:
        table.add_row("(none)", *[""] * (len(table.columns) - 1))
    return table


