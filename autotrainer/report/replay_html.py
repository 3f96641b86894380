"""The replay's report: `summary.json`, PNG charts and a `report.html` that opens offline beside them.

One static page, readable on a laptop and a phone: the verdict first, then the numbers it follows from, the
charts with captions, and what the replay ran on. Wide tables scroll inside their own box, never the page.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from autotrainer.replay.simulate import ReplayRun
from autotrainer.replay.summary import POLICIES
from autotrainer.report.page import CSS, table
from autotrainer.report.replay_figures import Figure, draw
from autotrainer.report.replay_table import audit_text, edge_ci, safety_text
from autotrainer.timeutil import wib_text

POLICY_TEXT = {"policy": "the policy (what it published)", "keep_first": "keep the first model",
               "publish_every": "publish every retrain", "always_long": "always long", "buy_and_hold": "buy and hold"}


def write_report(run: ReplayRun, summary: dict[str, Any]) -> Path:
    """Write summary.json, the charts and report.html into the replay's folder; returns the report's path."""
    out = run.out_dir
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    figures = draw(run, out)
    path = out / "report.html"
    path.write_text(_html(run, summary, figures), encoding="utf-8")
    return path




def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def _interval(numbers: dict[str, Any], key: str) -> str:
    if numbers.get(key) is None:
        return "-"
    return f"{numbers[key]:.4f} [{numbers[key + '_low']:.3f}-{numbers[key + '_high']:.3f}]"


def _value(value: Any) -> str:
    """A summary value as text: intervals {value, low, high} as 'v [low, high]', other mappings as 'k v' pairs."""
    if isinstance(value, dict):
        if "value" in value and "low" in value:
            return _fmt(value["value"]) + ("" if value["low"] is None else
                                           f" [{_fmt(value['low'])}, {_fmt(value['high'])}]")
        return ", ".join(f"{html.escape(str(k))} {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.6g}"
    return _fmt(value)


def _facts(facts: dict[str, Any] | None, as_set: bool = False) -> str:
    """A name/value table of a summary section (market, source, rules, settings), or nothing if absent; with
    `as_set`, names as an operator writes them in the config."""
    if not facts:
        return ""
    names = [f"<code>{html.escape(str(k))}</code>" if as_set else html.escape(str(k).replace("_", " ")) for k in facts]
    return table(None, [[name, _value(v)] for name, v in zip(names, facts.values())])


def _grid(rows: dict[str, Any]) -> str:
    """A table with one row per entry of `rows` (servings) and one column per number they carry; an
    `X_low`/`X_high` pair is shown inside X's cell as its interval."""
    entries = {k: v for k, v in rows.items() if isinstance(v, dict)}
    if not entries:
        return ""
    keys = list(dict.fromkeys(k for numbers in entries.values() for k in numbers))
    keys = [k for k in keys if not (k.endswith(("_low", "_high")) and k.rsplit("_", 1)[0] in keys)]
    cells = [[html.escape(POLICY_TEXT.get(name, name))] +
             [_interval(numbers, k) if f"{k}_low" in numbers and numbers.get(f"{k}_low") is not None
              else _value(numbers.get(k)) for k in keys] for name, numbers in entries.items()]
    return table(["serving", *[k.replace("_", " ") for k in keys]], cells)


def _verdict(summary: dict[str, Any]) -> str:
    verdict = summary.get("verdict") or {}
    text = verdict.get("text") or "No verdict was computed for this replay."
    sentences = [part for part in re.split(r"(?<=\.)\s+(?=[A-Z])|\n", text) if part.strip()]
    paragraphs = [f'<p class="lead">{html.escape(line)}</p>' if i == 0 else f"<p>{html.escape(line)}</p>"
                  for i, line in enumerate(sentences)]
    return f'<section id="verdict"><h2>Verdict</h2>{"".join(paragraphs)}</section>'


def _definitions(summary: dict[str, Any]) -> str:
    definitions = summary.get("definitions")
    if not definitions:
        return ""
    items = "".join(f"<dt>{html.escape(str(k).replace('_', ' '))}</dt><dd>{html.escape(str(v))}</dd>"
                    for k, v in definitions.items())
    return f'<h2>How to read the counts</h2><dl class="note">{items}</dl>'


def _section(title: str, body: str, note: str = "") -> str:
    return f"<h2>{html.escape(title)}</h2>{note}{body}" if body else ""


def _figures(figures: list[Figure]) -> str:
    """Each picture in a figure with its caption; tapping it opens the full-size PNG (a phone shrinks it)."""
    return "".join(f'<figure><a href="{html.escape(f.name)}"><img src="{html.escape(f.name)}" '
                   f'alt="{html.escape(f.caption)}"></a><figcaption>{html.escape(f.caption)}</figcaption></figure>'
                   for f in figures)


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def _counts(summary: dict[str, Any]) -> str:
    rows = [["retrains by type", _pairs(summary["retrains"])], ["retrains by trigger", _pairs(summary["triggers"])],
            ["outcomes", _pairs(summary["outcomes"])],
            ["AUC bands of the runs that trained", _pairs(summary["auc_bands"]) or "none"],
            ["emergency retrains", summary["emergency_retrains"]],
            ["retrains skipped: nothing changed since the last trained run", summary.get("skipped_unchanged", 0)],
            ["guard holds (episodes)", _pairs(summary["holds"]) or "none"],
            ["hours without a usable model", _fmt(summary["hours_without_model"], 1)],
            ["mean reported test AUC (published models)", _fmt(summary["mean_reported_auc"])],
            [f"mean realised AUC (the {summary['models_in_gap']} of them that served enough bars)",
             _fmt(summary["mean_realised_auc"])],
            ["optimism gap (reported - realised)", _fmt(summary["optimism_gap"])],
            ["look-ahead audit", audit_text(summary)],
            ["wall time", f"{summary['seconds']:.1f} s"]]
    return table(None, [[html.escape(name), html.escape(str(value))] for name, value in rows])


def _baselines(summary: dict[str, Any]) -> str:
    b = summary["baselines"]
    rows = [[html.escape(POLICY_TEXT[name]), _interval(b[name], "realised_auc"), str(b[name]["rows"]),
             str(b[name]["models_used"]), _fmt(b[name]["hours_without_model"], 1),
             f"{b[name]['signal_buys']} / {b[name]['signal_sells']}", _fmt(b[name]["signal_coverage"], 3),
             _interval(b[name], "signal_hit_rate")] for name in POLICIES]
    return f"""<p class="note">Scored on the same {summary['common_bars']:,} bars (those where all three had a
model), each bar by the model its serving had when the bar closed. Signals: P(up) at or above each model's
<code>confidence_threshold</code> ({_fmt(b["policy"]["signal_threshold"], 2)} for the policy) is BUY, at or below
1 minus it is SELL; hit rate with a Wilson 95% interval. Intervals that overlap mean the data cannot tell the
servings apart.</p>
{table(["serving", "realised AUC [95% CI]", "bars", "models", "hours without model", "BUY / SELL", "coverage",
         "hit rate [95% CI]"], rows)}"""


def _edge(summary: dict[str, Any]) -> str:
    """The servings' net edge per signal with its interval, totals and always-long (edge.py's figures)."""
    b = summary["baselines"]
    rows = [[html.escape(POLICY_TEXT[name]), str(b[name]["edge_signals"]), edge_ci(b[name], "edge"),
             _fmt(b[name]["edge_total"], 2), html.escape(b[name]["edge_verdict"]),
             edge_ci(b[name], "edge_always_long"), _fmt(b[name]["edge_always_long_total"], 2)]
            for name in POLICIES]
    policy = b["policy"]
    return f"""<p class="note">Each signal held for <code>lookahead</code> bars from its bar's close and charged that
bar's spread ({html.escape(str(policy.get("edge_spread_source")))}; point {policy.get("edge_point")} from
{html.escape(str(policy.get("edge_point_source")))}) plus <code>commission_per_trade</code>, in price units;
interval: {html.escape(str(policy.get("edge_method")))}. Always long buys every one of the same bars.
Not a backtest of the bot's own stop-loss/take-profit logic.</p>
{table(["serving", "signals", "net per signal [95% CI]", "total net", "verdict", "always long per bar [95% CI]",
         "always long total"], rows)}"""


def _type_rows(summary: dict[str, Any]) -> str:
    named = ("runs", "mean_test_auc", "mean_realised_auc", "mean_seconds")
    header = list(dict.fromkeys(k for row in summary["by_type"].values() for k in row))
    columns = [k for k in header if k in named] + [k for k in header if k not in named]
    rows = [[html.escape(kind)] + [_value(row.get(k)) for k in columns] for kind, row in summary["by_type"].items()]
    return table(["type", *[k.replace("_", " ") for k in columns]], rows)


def _html(run: ReplayRun, summary: dict[str, Any], figures: list[Figure]) -> str:
    s, money = run.settings, summary.get("money") or {}
    unit = f'<p class="note">In {html.escape(str(money["unit"]))}.</p>' if money.get("unit") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>autotrainer replay {html.escape(run.out_dir.name)}</title>
<style>{CSS}</style></head><body>
<h1>Replay of the retraining policy</h1>
{_verdict(summary)}
<p>{html.escape(s.symbol)} {html.escape(s.timeframe)} bars, {wib_text(run.start)} to {wib_text(run.end)};
{run.ticks:,} scheduler ticks (every 15 minutes, as cron fires <code>autotrainer check --run</code>).
Models, backups, history and the log of this replay are in <code>{html.escape(str(run.out_dir))}</code>.</p>
{_section("The market over the window", _facts(summary.get("market")))}
{_section("Money: each way of serving the bot, always long and buy and hold", _grid(money), unit)}
{_definitions(summary)}
<h2>The policy against simple baselines</h2>{_baselines(summary)}
<h2>Money after costs, per signal</h2>{_edge(summary)}
<h2>What the policy did</h2>{_counts(summary)}
<h2>Serving safety: expiry and the guard</h2><p>{html.escape(safety_text(summary))}</p>
<h2>Per training type</h2>{_type_rows(summary)}
<h2>Charts</h2>{_figures(figures)}
{_section("Source of the bars", _facts(summary.get("source")))}
{_section("Rules in force", _facts(summary.get("rules"), as_set=True))}
{_section("Settings that differ from the defaults", _facts(summary.get("settings"), as_set=True))}
<p class="note">Times are WIB (Asia/Jakarta, UTC+7). "Rejected" is what the seed called a rollback: the candidate
was not published and the model in service stayed. Written by autotrainer
{html.escape(str(summary.get("version", "")))}; one file and its pictures, opens offline.</p>
</body></html>
"""
