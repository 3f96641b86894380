"""`autotrainer replay` in the terminal: the verdict first, then the market and the money, then how the policy
served the bot against the two baselines, what it did, where the bars came from and what each count means.
Plain ASCII (a cp1252 console shows it) and readable at 100 columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autotrainer.timeutil import wib_text

NAMES = {"policy": "policy", "keep_first": "keep first model", "publish_every": "publish every retrain",
         "always_long": "always long", "buy_and_hold": "buy and hold"}
# The per-type figures beside the outcome counts (every other key of a `by_type` row is an outcome).
BY_TYPE_FIGURES = ("runs", "models_served", "mean_test_auc", "mean_realised_auc", "mean_seconds")


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


def interval_text(mean: float | None, low: float | None, high: float | None, digits: int = 4) -> str:
    """A signed mean with its 95% interval, or '-' without a mean."""
    if mean is None:
        return "-"
    shown = digits - 1
    return f"{mean:+.{digits}f}" + ("" if low is None else f" [{low:+.{shown}f} to {high:+.{shown}f}]")


def edge_ci(numbers: dict[str, Any], prefix: str) -> str:
    """A mean net return per trade with its 95% interval (price units) from flat `edge_*` keys, or '-'."""
    return interval_text(*(numbers.get(f"{prefix}_{k}") for k in ("mean", "low", "high")))


def audit_text(summary: dict[str, Any]) -> str:
    """The one look-ahead audit of the replay's bars, which every run's features were proven causal by."""
    audit = summary.get("audit")
    if not audit:
        return "-"
    return f"once, on all {audit['bars']:,} bars the runs read: {audit['summary']}"


def safety_text(summary: dict[str, Any]) -> str:
    """What serving safety did over the replay: hours past `model_max_age_hours` (no signal), and the signals
    the out-of-distribution guard withheld with what they would have earned after costs."""
    safety = summary.get("serving_safety")
    if not safety:
        return "-"
    edge = safety["guard_withheld_edge"]
    earned = ("" if not safety["guard_withheld_signals"] else
              f", which would have made {edge_ci(edge, 'edge')} per signal, {safety['guard_withheld_net_total']:+.2f} "
              f"in all ({edge['edge_verdict']})")
    return (f"{safety['hours_expired']:.1f} h past model_max_age_hours (no signal); the guard withheld "
            f"{safety['guard_withheld_signals']} signals ({safety['guard_signals_share']:.1%} of them){earned}")


def replay_table(summary: dict[str, Any]) -> Any:
    """`autotrainer replay`: verdict, market, money, the servings compared, the run's facts and definitions."""
    from rich.console import Group
    from rich.text import Text

    return Group(Text("Verdict", style="bold"), Text(summary["verdict"]["text"]), Text(""),
                 Text(_market_line(summary), style="bold"), _money(summary), _versus(summary), _facts(summary),
                 _by_type(summary), _definitions(summary))


def _market_line(summary: dict[str, Any]) -> str:
    market, source = summary["market"], summary["source"]
    if not market["bars"]:
        return "Market: no common bars"
    return (f"Market: {source['symbol']} {source['timeframe']}, {market['bars']:,} common bars, base rate "
            f"{market['base_rate_up']:.1%} up, {market['first_close']:.2f} to {market['last_close']:.2f} "
            f"({market['drift_pct']:+.1f}%)")


def _money(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    money = summary["money"]
    table = Table(title=f"Money after costs, in {money['unit']}", title_justify="left")
    for column in ("serving", "signals", "net per signal [95% CI]", "net total", "max drawdown", "edge"):
        table.add_column(column, no_wrap=column in ("signals", "net per signal [95% CI]", "net total"))
    for name, figures in money.items():
        if name == "unit":
            continue
        per_signal = figures["net_per_signal"]
        table.add_row(NAMES.get(name, name), f"{figures['signals']:,}",
                      interval_text(per_signal["value"], per_signal["low"], per_signal["high"], 3),
                      _num(figures["net_total"], 2), _num(figures["max_drawdown"], 2), figures.get("verdict", ""))
    return table


def _versus(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    versus = Table(title=f"Served on the same {summary['common_bars']:,} common bars", title_justify="left")
    for column in ("serving", "realised AUC [95% CI]", "models used", "h without", "BUY/SELL", "hit rate [95% CI]"):
        versus.add_column(column, no_wrap=column.endswith("CI]"))
    for name, numbers in summary["baselines"].items():
        versus.add_row(NAMES.get(name, name), _ci(numbers, "realised_auc"), str(numbers["models_used"]),
                       f"{numbers['hours_without_model']:.1f}", f"{numbers['signal_buys']}/{numbers['signal_sells']}",
                       _ci(numbers, "signal_hit_rate"))
    return versus


def _facts(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    facts = Table(show_header=False, title="Replay", title_justify="left")
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column()
    window, source = summary["window"], summary["source"]
    facts.add_row("Window", f"{_when(window['start'])} to {_when(window['end'])}, {window['ticks']:,} ticks")
    facts.add_row("Retrains", f"{_counts(summary['retrains'])} (triggers: {_counts(summary['triggers'])})")
    facts.add_row("Outcomes", f"{_counts(summary['outcomes'])} (AUC bands: {_counts(summary.get('auc_bands', {}))})")
    facts.add_row("Published", f"{summary['published']}; models that served: {summary['models_in_gap']}")
    facts.add_row("Guard holds", _counts(summary["holds"]))
    facts.add_row("Skipped (unchanged)", str(summary.get("skipped_unchanged", 0)))
    facts.add_row("Without a model", f"{summary['hours_without_model']:.1f} h")
    facts.add_row("Serving safety", safety_text(summary))
    facts.add_row("Reported / realised", f"mean test AUC {_num(summary['mean_reported_auc'])} at training, "
                                         f"{_num(summary['mean_realised_auc'])} on the bars served "
                                         f"(optimism gap {_num(summary['optimism_gap'])}, "
                                         f"{summary['models_in_gap']} models that served)")
    facts.add_row("Source", f"{source['path']} ({source['bars']:,} bars, {_when(source['first_bar'])} to "
                            f"{_when(source['last_bar'])}, server clock {source['server_clock']}"
                            + (f", sha256 {source['sha256'][:16]}" if source.get("sha256") else "") + ")")
    facts.add_row("Settings changed", ", ".join(f"{k}={v}" for k, v in summary["settings"].items()) or "none")
    rules = summary["rules"]
    facts.add_row("Rules", f"floor {rules['floor']} ({rules['floor_rule']}), champion {rules['champion_rule']}, "
                           f"emergency {rules['emergency_rule']}, edge {rules['edge_rule']}, signal "
                           f"{rules['signal_rule']}, confidence {rules['confidence_threshold']}, skip unchanged "
                           f"{rules['skip_unchanged']}")
    facts.add_row("Look-ahead audit", audit_text(summary))
    facts.add_row("Version", f"autotrainer {summary['version']} (code {summary['code_digest'][:16]})")
    facts.add_row("Wall time", f"{summary['seconds']:.1f} s")
    facts.add_row("Report", summary.get("report", "-"))
    return facts


def _by_type(summary: dict[str, Any]) -> Any:
    """Per training type: all its runs and their outcomes; then the test and realised AUC of the same models."""
    from rich.table import Table

    table = Table(title="By training type (test and realised AUC: means over the models that served)",
                  title_justify="left")
    for column in ("type", "runs", "outcomes", "models that served", "test AUC", "realised AUC", "mean s"):
        table.add_column(column)
    for kind, row in summary["by_type"].items():
        outcomes = {k: v for k, v in row.items() if k not in BY_TYPE_FIGURES}
        table.add_row(kind, str(row["runs"]), _counts(outcomes), str(row["models_served"]), _num(row["mean_test_auc"]),
                      _num(row["mean_realised_auc"]), _num(row["mean_seconds"], 1))
    return table


def _definitions(summary: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(show_header=False, title="What each count means", title_justify="left")
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for name, sentence in summary["definitions"].items():
        table.add_row(name, sentence)
    return table
