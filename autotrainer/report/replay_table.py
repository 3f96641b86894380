"""`autotrainer replay` in the terminal: what the policy did, how it served the bot against the two baselines,
and the money its signals would have made after costs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autotrainer.timeutil import wib_text


def _when(text: str | None) -> str:
    return wib_text(datetime.fromisoformat(text)) if text else "-"


def _num(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _ci(numbers: dict[str, Any], key: str) -> str:
    if numbers.get(key) is None:
        return "-"
    return f"{numbers[key]:.4f} [{numbers[key + '_low']:.3f}-{numbers[key + '_high']:.3f}]"


def edge_ci(numbers: dict[str, Any], prefix: str) -> str:
    """A mean net return per trade with its 95% interval (price units), or '-' without one."""
    mean, low, high = (numbers.get(f"{prefix}_{k}") for k in ("mean", "low", "high"))
    if mean is None:
        return "-"
    return f"{mean:+.4f}" + ("" if low is None else f" [{low:+.3f} to {high:+.3f}]")


def replay_table(summary: dict[str, Any]) -> Any:
    """`autotrainer replay`: what the policy did, and how it served the bot against the two baselines."""
    from rich.console import Group
    from rich.table import Table

    facts = Table(show_header=False, title="Replay summary", title_justify="left")
    facts.add_column(style="bold")
    facts.add_column()
    window = summary["window"]
    facts.add_row("Window", f"{_when(window['start'])} to {_when(window['end'])}, {window['ticks']:,} ticks")
    facts.add_row("Retrains", f"{_counts(summary['retrains'])} (triggers: {_counts(summary['triggers'])})")
    facts.add_row("Outcomes", f"{_counts(summary['outcomes'])} (AUC bands: {_counts(summary.get('auc_bands', {}))})")
    facts.add_row("Guard holds", _counts(summary["holds"]))
    facts.add_row("Skipped, unchanged", f"{summary.get('skipped_unchanged', 0)} retrains not run: same bars, settings "
                                        "and code as the last trained run")
    facts.add_row("Without a model", f"{summary['hours_without_model']:.1f} h")
    facts.add_row("Reported / realised", f"mean test AUC {_num(summary['mean_reported_auc'])} at training, "
                                         f"{_num(summary['mean_realised_auc'])} on the bars served "
                                         f"(optimism gap {_num(summary['optimism_gap'])}, "
                                         f"{summary['models_in_gap']} models)")
    facts.add_row("Wall time", f"{summary['seconds']:.1f} s")
    facts.add_row("Report", summary.get("report", "-"))
    versus = Table(title=f"Served on the same {summary['common_bars']:,} bars", title_justify="left")
    for column in ("serving", "realised AUC [95% CI]", "models", "h without", "BUY/SELL", "hit rate [95% CI]"):
        versus.add_column(column, no_wrap=column != "serving")
    names = {"policy": "policy", "keep_first": "keep first model", "publish_every": "publish every retrain"}
    for name, numbers in summary["baselines"].items():
        versus.add_row(names.get(name, name), _ci(numbers, "realised_auc"), str(numbers["models_used"]),
                       f"{numbers['hours_without_model']:.1f}", f"{numbers['signal_buys']}/{numbers['signal_sells']}",
                       _ci(numbers, "signal_hit_rate"))
    money = Table(title="Money after costs (price units; signals held lookahead bars, each paying its spread)",
                  title_justify="left")
    for column in ("serving", "signals", "net per signal [95% CI]", "total", "verdict", "always long total"):
        money.add_column(column, no_wrap=column != "serving")
    for name, numbers in summary["baselines"].items():
        money.add_row(names.get(name, name), str(numbers["edge_signals"]), edge_ci(numbers, "edge"),
                      _num(numbers["edge_total"]), numbers["edge_verdict"], _num(numbers["edge_always_long_total"]))
    return Group(facts, versus, money)
