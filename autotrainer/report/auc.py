"""`autotrainer auc` for people (a panel) and scripts (JSON): what the active model is, how good it was on its
test slice, how it does on the bars since training, whether its signals make money after costs, and what the
emergency rule would do.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from autotrainer.jobs.net_edge import edge_text
from autotrainer.models.guard import PSI_DRIFTED
from autotrainer.report.tables import number_text, when_wib
from autotrainer.rules import auc_band
from autotrainer.store.expiry import expiry_text


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
        "test_edge": metrics.get("edge"),  # the test slice's edge after costs at training time
        **_edge_fields(result.live_edge, metrics.get("edge") or {}),
        "expired": bool(result.expiry.get("expired")), "expiry": result.expiry or None,
        "guard": manifest.get("guard"),  # the guard's threshold; None: a pair from before the guard
        "drift": result.drift,  # `--live`: PSI per input on the bars since training, drifted share, guard withheld
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


def _edge_fields(live: dict[str, Any] | None, test: dict[str, Any]) -> dict[str, Any]:
    """The edge after costs at the top level of `auc --json`: of the bars since training when `--live` had
    enough of them, else the test slice's at training time; `edge_source` says which."""
    chosen = live if live is not None else test
    flat = {k: v for k, v in chosen.items() if k.startswith("edge_")}
    return {"edge_source": "live" if live is not None else "test" if test else None,
            "edge_verdict": chosen.get("edge_verdict"), **flat}


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
        return f"no BUY/SELL signal at all{count}, Brier {number_text(brier)}"
    return f"{coverage:.1%} of bars{count}, hit rate {hit:.3f} [95% CI {low:.3f}-{high:.3f}], Brier {number_text(brier)}"


def auc_panel(result: Any, settings: Any) -> Any:
    """`autotrainer auc`: what the active model is, how good it was, how good it is now, what happens next."""
    from rich.table import Table

    data = auc_json(result, settings)
    table = Table(show_header=False, title=f"Active model {data['run_id']}", title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    low, high = data["test_auc_low"], data["test_auc_high"]
    d = data["data"] or {}
    table.add_row("Trained", f"{when_wib(data['trained_at'])} ({data['training_type']}, {d.get('bars')} bars)")
    table.add_row("Training data", f"{when_wib(d.get('start'))} -> {when_wib(d.get('end'))} ({d.get('source')})")
    table.add_row("Train / test AUC", f"{number_text(data['train_auc'])} / {number_text(data['test_auc'])} "
                                      f"[95% CI {number_text(low, 3)}-{number_text(high, 3)}]")
    test_signals = data["test_signals"] or {}
    threshold = result.manifest.get("confidence_threshold")
    table.add_row(f"Signals at {threshold} (test)", signal_text(
        test_signals.get("signal_coverage"), test_signals.get("signal_hit_rate"), test_signals.get("signal_hit_rate_low"),
        test_signals.get("signal_hit_rate_high"), test_signals.get("brier"),
        None if not test_signals else test_signals.get("signal_buys", 0) + test_signals.get("signal_sells", 0)))
    table.add_row("Edge after costs (test)", edge_text(data["test_edge"] or {}))
    if result.live_edge is not None:
        table.add_row("Edge after costs (live)", edge_text(result.live_edge))
    table.add_row("Thresholds", thresholds_text(result, settings))
    if result.expiry:
        table.add_row("Expiry", expiry_text(result.expiry))
    if result.drift is not None:
        table.add_row("Drift (live)", drift_text(result.drift))
    if result.taken_now is not None:
        table.add_row("Live now", _live_text(result.taken_now, settings))
    table.add_row("Newest live AUC", _live_text(result.latest, settings) if result.latest else "none yet")
    colour = {"OK": "green", "WARNING": "yellow", "BELOW FLOOR": "bold red"}.get(result.status, "")
    today = f"; by today's settings: {result.status_today}" if result.status_today else ""
    table.add_row("Status", f"[{colour}]{result.status}[/] ({result.current_source} AUC {number_text(result.current_auc)}, "
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


def drift_text(drift: dict[str, Any]) -> str:
    """'3 of 80 inputs drifted (PSI > 0.2; largest 0.41: atr_14_pct, ...) on 412 bars; guard withheld 2.4%'."""
    if drift["drift_share"] is None:
        return f"not measured: {drift['drift_note']}"
    names = ", ".join(drift["drifted"][:3]) + (", ..." if len(drift["drifted"]) > 3 else "")
    return (f"{len(drift['drifted'])} of {len(drift['psi'])} inputs drifted (PSI > {PSI_DRIFTED}"
            f"{f': {names}' if names else ''}; largest PSI {drift['psi_max']:.2f}) on {drift['drift_bars']} bars since "
            f"training; the guard withheld the signal on {drift['guard_withheld_share']:.1%} of them")


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
            f"{when_wib(check.data_start)} -> {when_wib(check.data_end)}, measured {when_wib(check.measured_at)}; "
            f"signals: {signals}")
