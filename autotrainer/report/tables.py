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
from autotrainer.history.service import HistoryView
from autotrainer.history.records import STATUS_WORDS, ModelEvent, RunRecord
from autotrainer.timeutil import wib_text
from autotrainer.rules import REJECTED, auc_band

ERROR_WIDTH = 60
def status_label(status: str) -> str:
    """The chart style of a run status (charts.OUTCOME_STYLE): 'rejected' for the seed's 'rolled_back', the
    band for a published run. People read `words.outcome_text` instead."""
    return STATUS_WORDS.get(status, status)


def run_outcome(run: RunRecord) -> str:
    """'published (AUC warning)': the outcome, then the AUC band it was judged in."""
    return words.outcome_text(run.status, run.auc_band)


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
    """'5 runs, 60% published, last published 2026-11-24 05:00 WIB, mean test AUC 0.5123'."""
    finished = [r for r in runs if r.status != "running"]
    published = [r for r in finished if words.outcome(r.status) == "published"]
    rate = f"{len(published) / len(finished):.0%} published" if finished else "none finished"
    last = max((r.completed_at or "" for r in published), default="")
    aucs = [r.test_auc for r in runs if r.test_auc is not None]
    mean = f"mean test AUC {sum(aucs) / len(aucs):.4f}" if aucs else "no test AUC"
    return f"{len(runs)} runs, {rate}, last published {_when(last) if last else 'never'}, {mean} (shown runs)"


def _hit(run: RunRecord) -> str:
    if run.signal_coverage is None:
        return "-"
    if run.signal_hit_rate is None:
        return "no signal"
    return f"{run.signal_hit_rate:.2f} [{run.signal_hit_rate_low:.2f}-{run.signal_hit_rate_high:.2f}]"


STATUS_STYLES = {"success": "green", "warning": "yellow", REJECTED: "magenta", "failed": "bold red",
                 "skipped": "cyan", "interrupted": "red", "running": "blue"}
WIDE = 190  # from this console width on, one table row per entry with every column; below, two lines each


def _event_note(event: ModelEvent) -> str:
    """A rejection's reason already stands in its run's row; other events carry their own (a rollback's is
    the operator's)."""
    if event.kind == "rejection":
        return f"run {event.run_id} not published (reason in its run row)"
    return " ".join(f"{event.run_id or ''} {event.reason}".split())


def render_table(view: HistoryView, width: int = 200) -> Any:
    """The timeline, newest first, fitted to `width`: a table on a wide console, two lines per entry (facts,
    then the wrapped note) on a narrow one, so the reasons are never cut off."""
    if width < WIDE:
        return _history_lines(view, width)
    from rich.table import Table

    table = Table(title=f"History — {view.origin}", title_justify="left", expand=False)
    for header, justify in (("When (WIB)", "left"), ("Type", "left"), ("Trigger", "left"), ("Bars", "right"),
                            ("Rounds", "right"), ("Train AUC", "right"), ("Test AUC [95% CI]", "right"),
                            ("Hit rate [CI]", "right"), ("Acc", "right"), ("Dur", "right"), ("Outcome", "left")):
        table.add_column(header, justify=justify, no_wrap=True)
    table.add_column("Note", overflow="fold", ratio=1, min_width=24)
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            table.add_row(_when(item.occurred_at).removesuffix(" WIB"), f"event: {item.kind}", *[""] * 9,
                          _event_note(item), style="dim")
            continue
        table.add_row(_when(item.started_at).removesuffix(" WIB"), item.training_type, item.trigger,
                      str(item.bars_used or "-"), str(item.num_boost_rounds or "-"), _num(item.train_auc), _auc(item),
                      _hit(item), _num(item.test_accuracy, 3),
                      f"{item.duration_seconds:.1f}s" if item.duration_seconds else "-",
                      f"[{STATUS_STYLES.get(item.status, '')}]{run_outcome(item)}[/]",
                      " ".join((item.error_message or item.backup_path or "").split()))
    return table


def _history_lines(view: HistoryView, width: int) -> Any:
    """Narrow consoles: a line of facts per entry, its note indented and wrapped beneath it."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    roomy = width >= 110  # trigger, bars and hit rate fit beside the essentials
    lines: list[Any] = [Text(f"History — {view.origin}", style="italic")]
    for item in timeline(view):
        if isinstance(item, ModelEvent):
            lines.append(Text(f"{_when(item.occurred_at).removesuffix(' WIB')}  event: {item.kind}", style="dim"))
            lines.append(Padding(Text(_event_note(item), style="dim"), (0, 0, 0, 4)))
            continue
        facts = Text(f"{_when(item.started_at).removesuffix(' WIB')}  {item.training_type:<9}  ")
        if roomy:
            facts.append(f"{item.trigger:<9}  {str(item.bars_used or '-'):>5} bars  ")
        facts.append(f"AUC {_auc(item)}  ")
        if roomy:
            facts.append(f"hit {_hit(item)}  ")
        facts.append(run_outcome(item), style=STATUS_STYLES.get(item.status, ""))
        lines.append(facts)
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
               "backup_path", "run_id", "error_or_reason", "outcome", "auc_band", "auc_floor", "auc_target"]


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
        data = f"{_when(row['data_start'])} -> {_when(row['data_end'])}" if row["data_start"] else "-"
        verdict = "[green]yes[/]" if info.verifies else f"[red]no[/]: {_short(info.problem, 90)}"
        cells = [info.name, "[bold]yes[/]" if info.active else "", row["run_id"] or "-"]
        cells += [row["training_type"] or "-"] if roomy else []
        cells += [_num(row["test_auc"])] + ([data] if roomy else []) + [verdict]
        table.add_row(*cells)
    if not backups:
        table.add_row("(none)", *[""] * (len(table.columns) - 1))
    return table


def auc_json(result: Any, settings: Any) -> dict[str, Any]:
    manifest = result.manifest
    metrics = manifest.get("metrics", {})
    return {
        "run_id": manifest["run_id"], "trained_at": manifest.get("created_at"),
        "training_type": manifest.get("training_type"), "data": manifest.get("data"),
        "train_auc": metrics.get("train_auc"), "test_auc": metrics.get("test_auc"),
        "test_auc_low": metrics.get("test_auc_low", (metrics.get("test_auc_ci95") or [None, None])[0]),
        "test_auc_high": metrics.get("test_auc_high", (metrics.get("test_auc_ci95") or [None, None])[1]),
        "thresholds": result.thresholds,  # the ones it was published under, which `status` judges by
        "thresholds_today": {"min_auc_threshold": settings.min_auc_threshold, "floor": settings.publish_floor_auc},
        "test_signals": metrics.get("signals"),  # at confidence_threshold, on the test slice at training time
        **_signal_fields(result.latest or result.taken_now, metrics.get("signals") or {}),
        "live_taken_now": asdict(result.taken_now) if result.taken_now else None,
        "live_latest": asdict(result.latest) if result.latest else None,
        "current_auc": result.current_auc, "current_source": result.current_source, "status": result.status,
        "status_today": result.status_today or result.status,
        "auc_band": auc_band(result.current_auc, result.thresholds.get("floor"),
                                   result.thresholds.get("min_auc_threshold")),  # `status` in the history's words
        "emergency_retrain_due": result.emergency.due and result.emergency.training_type == "emergency",
        "decision": result.emergency.to_json(), "exit_code": result.exit_code,
    }


SIGNAL_FIELDS = ("signal_coverage", "signal_hit_rate", "signal_hit_rate_low", "signal_hit_rate_high", "brier")


def _signal_fields(live: Any, test: dict[str, Any]) -> dict[str, Any]:
    """The bot's numbers at the top level of `auc --json`: live when measured on enough bars, else the test
    slice's; `signal_source` says which."""
    if live is not None and live.auc is not None:
        return {"signal_source": "live", **{name: getattr(live, name) for name in SIGNAL_FIELDS}}
    return {"signal_source": "test" if test else None, **{name: test.get(name) for name in SIGNAL_FIELDS}}


def signal_text(coverage: float | None, hit: float | None, low: float | None, high: float | None,
                brier: float | None, signals: int | None = None) -> str:
    """'1.2% of bars (29 signals), hit rate 0.552 [95% CI 0.373-0.717], Brier 0.2496'."""
    if coverage is None:
        return "-"
    count = f" ({signals} signals)" if signals is not None else ""
    if hit is None:
        return f"no BUY/SELL signal at all{count}, Brier {_num(brier)}"
    return f"{coverage:.1%} of bars{count}, hit rate {hit:.3f} [95% CI {low:.3f}-{high:.3f}], Brier {_num(brier)}"


def auc_panel(result: Any, settings: Any) -> Any:
    """`autotrainer auc`: what the active model is, how good it was, how good it is now, what happens next."""
    from rich.table import Table

    data = auc_json(result, settings)
    table = Table(show_header=False, title=f"Active model {data['run_id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    low, high = data["test_auc_low"], data["test_auc_high"]
    d = data["data"] or {}
    table.add_row("Trained", f"{_when(data['trained_at'])} ({data['training_type']}, {d.get('bars')} bars)")
    table.add_row("Training data", f"{_when(d.get('start'))} -> {_when(d.get('end'))} ({d.get('source')})")
    table.add_row("Train / test AUC", f"{_num(data['train_auc'])} / {_num(data['test_auc'])} "
                                      f"[95% CI {_num(low, 3)}-{_num(high, 3)}]")
    test_signals = data["test_signals"] or {}
    threshold = result.manifest.get("confidence_threshold")
    table.add_row(f"Signals at {threshold} (test)", signal_text(
        test_signals.get("signal_coverage"), test_signals.get("signal_hit_rate"), test_signals.get("signal_hit_rate_low"),
        test_signals.get("signal_hit_rate_high"), test_signals.get("brier"),
        None if not test_signals else test_signals.get("signal_buys", 0) + test_signals.get("signal_sells", 0)))
    table.add_row("Thresholds", thresholds_text(result, settings))
    if result.taken_now is not None:
        table.add_row("Live now", _live_text(result.taken_now, settings))
    table.add_row("Newest live AUC", _live_text(result.latest, settings) if result.latest else "none yet")
    colour = {"OK": "green", "WARNING": "yellow", "BELOW FLOOR": "bold red"}.get(result.status, "")
    today = f"; by today's settings: {result.status_today}" if result.status_today else ""
    table.add_row("Status", f"[{colour}]{result.status}[/] ({result.current_source} AUC {_num(result.current_auc)}, "
                            f"judged by the thresholds it was published under{today})")
    table.add_row("Emergency retrain", emergency_text(result.emergency))
    return table


def emergency_text(decision: Any) -> str:
    """The emergency rule's own verdict: it applies at any time of day, so the retrain window is no reason."""
    if decision.due and decision.training_type == "emergency":
        return f"would fire now: {decision.reason}"
    why = decision.emergency_reason or decision.reason
    if decision.due:
        return f"not needed: a scheduled {decision.training_type} retrain is due now; emergency rule: {why}"
    return f"would not fire: {why}"


def thresholds_text(result: Any, settings: Any) -> str:
    """The thresholds the model was published under, and today's when they differ."""
    floor, target = result.thresholds["floor"], result.thresholds["min_auc_threshold"]
    text = f"published under: OK >= {target:g}, WARNING >= {floor:g}, BELOW FLOOR < {floor:g}"
    if (floor, target) != (settings.publish_floor_auc, settings.min_auc_threshold):
        text += (f"; today's settings: min_auc_threshold {settings.min_auc_threshold:g}, floor "
                 f"{settings.publish_floor_auc:g}")
    return text


def _live_text(check: Any, settings: Any) -> str:
    if check.auc is None:
        return (f"not enough new bars yet ({check.bars_scored} scored after the training data, "
                f"need {settings.min_live_bars})")
    signals = signal_text(check.signal_coverage, check.signal_hit_rate, check.signal_hit_rate_low,
                          check.signal_hit_rate_high, check.brier, check.signal_count)
    return (f"{check.auc:.4f} [95% CI {check.auc_low:.3f}-{check.auc_high:.3f}] on {check.bars_scored} bars "
            f"{_when(check.data_start)} -> {_when(check.data_end)}, measured {_when(check.measured_at)}; "
            f"signals: {signals}")
