"""The results of `retrain`, `check`, `rollback`, `history` and `bars` as scripts (JSON) and people (lines) see them."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from autotrainer.history.service import HistoryView
from autotrainer.jobs.net_edge import edge_text
from autotrainer.logs import LOGGER
from autotrainer.report import tables
from autotrainer.store.expiry import expiry_text


def outcome_json(outcome: Any) -> dict[str, Any]:
    """A run's result as `retrain --json` and `check --run --json` print it."""
    return outcome.record.to_json() | outcome.edge | {"exit_code": outcome.exit_code, "published": outcome.published,
                                       "top_features": dict(outcome.top_features),
                                       "regime_shares": outcome.regime_shares, "split": outcome.split}


def check_json(result: Any) -> dict[str, Any]:
    """`check --json`: the decision, the folders it looked at, and the run it performed (if any)."""
    run = outcome_json(result.outcome) if result.outcome else None
    return result.decision.to_json() | result.where | {"active_model": result.active or None, "run": run,
                                                       "exit_code": result.exit_code}


def log_check(result: Any, now: str | None) -> None:
    """`check` without --json: the decision and its reason, the folders, and the next window when not due."""
    decision, where, log = result.decision, result.where, logging.getLogger(LOGGER)
    verdict = f"due: {decision.training_type} ({decision.bars} bars, {decision.rounds} rounds)" if decision.due else "not due"
    log.info("Check%s: %s — %s", f" at {now}" if now else "", verdict, decision.reason)
    log.info("Home: %s (models %s, data %s)", where["home"], where["models_dir"], where["data_dir"])
    log.info("Active model: %s", active_text(result.active))
    if result.active.get("expiry"):
        log.info("Model age: %s", expiry_text(result.active["expiry"]))
    if (decision.evidence or {}).get("live_drift_share") is not None:
        evidence = decision.evidence
        log.info("Drift since training (newest auc --live): %.0f%% of the inputs with PSI > 0.2 on %s bars; the "
                 "guard withheld %.1f%% of them", 100 * evidence["live_drift_share"], evidence["live_drift_bars"],
                 100 * (evidence["live_guard_withheld"] or 0.0))
    if not decision.due:
        local = decision.to_json()["next_window_local"]
        log.info("Next window: %s (%s here)", decision.to_json()["next_window_wib"], local)


def active_text(active: dict[str, Any]) -> str:
    """'run X, test-slice edge after costs: no evidence of an edge: mean ...' (or why there is none)."""
    if not active:
        return "none published"
    if active.get("problem"):
        return f"manifest unreadable ({active['problem']})"
    return f"run {active['run_id']}, test-slice edge after costs: {edge_text(active)}"


def rollback_json(result: Any, reason: str) -> dict[str, Any]:
    """`rollback --json`: what was restored, what it replaced (and where that went), and why."""
    return {"restored": result.restored.name, "run_id": result.restored.manifest["run_id"],
            "replaced_backup": str(result.replaced_backup) if result.replaced_backup else None,
            "replaced_run_id": (result.manifest_before or {}).get("run_id"), "reason": reason,
            "warnings": result.warnings, "exit_code": result.exit_code}


def log_rollback(result: Any) -> None:
    """`rollback` without --json: what is live now and how to undo it."""
    logging.getLogger(LOGGER).info("Rolled back to %s (run %s). Undo with: autotrainer rollback --to %s", result.restored.name,
                                   result.restored.manifest["run_id"],
                                   result.replaced_backup.name if result.replaced_backup else "-")


def print_backups(out: Any, backups: list[Any], models_dir: Path) -> None:
    """`rollback --list` on a console: the backups table fitted to the console's width."""
    out.print(tables.backups_table(backups, models_dir, out.width))


def print_history(out: Any, view: HistoryView, plot: Path | None) -> None:
    """`history` on a console: the view's note, the timeline fitted to the console, the summary line."""
    if view.note:
        out.print(f"[yellow]{view.note}[/]")
    out.print(tables.render_table(view, out.width))
    out.print(tables.summary(view.runs))
    if plot is not None:
        out.print(f"Plot of {len(view.runs)} runs written to {plot}")


def bars_lines(report: dict[str, Any], min_bars: int) -> list[str]:
    """`bars` without --json: where the bars came from, their span and age, notes, warnings, and whether
    there are enough to train on."""
    lines = [f"{report['bars']} {report['symbol']} {report['timeframe']} bars from {report['origin']}",
             f"  {report['start_wib']} to {report['end_wib']} (server clock {report['server_clock']})",
             f"  newest bar: {report['newest_bar_age_market_hours']} market hours old"
             + ("" if report["age_checked"] else " (not checked: the bundled sample is a fixed history)")]
    lines += [f"  {line}" for line in report["notes"]]
    lines += [f"  WARNING {line}" for line in report["warnings"]]
    if not report["enough_to_train"]:
        lines.append(f"  too few bars to train: at least {min_bars} are needed (setting 'min_bars')")
    return lines
