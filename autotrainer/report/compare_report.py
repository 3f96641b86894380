"""`autotrainer replay --compare` shown: a terminal table, one line per finished configuration, and
`comparison.json` + `comparison.html` (one static file, no network link) in the comparison's folder."""

from __future__ import annotations

import html
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from autotrainer.logs import redacted
from autotrainer.report.page import CSS, table
from autotrainer.timeutil import wib_text

COLUMNS = ("configuration", "changes from the first", "runs", "published", "realised AUC [95% CI]", "scored bars",
           "signals", "net total")


def finished_line(json_output: bool) -> Callable[[dict[str, Any]], None]:
    """One short line per configuration as its replay ends; on stderr under --json, so stdout stays JSON."""
    stream = sys.stderr if json_output else sys.stdout

    def show(result: dict[str, Any]) -> None:
        summary = result["summary"]
        print(f"replayed {result['name']}: {sum(summary['retrains'].values())} runs, {summary['published']} "
              f"published, {summary['seconds']:.1f} s", file=stream, flush=True)

    return show


def _auc(row: dict[str, Any]) -> str:
    if row["realised_auc"] is None:
        return "-"
    return f"{row['realised_auc']:.4f} [{row['realised_auc_low']:.3f}, {row['realised_auc_high']:.3f}]"


def _changes(row: dict[str, Any]) -> str:
    return ", ".join(f"{key} = {value}" for key, value in row["differs_from_first"].items()) or "-"


def _cells(row: dict[str, Any]) -> list[str]:
    net = "-" if row["net_total"] is None else f"{row['net_total']:+.2f}"
    return [row["name"], _changes(row), str(row["runs"]), str(row["published"]), _auc(row), f"{row['scored_bars']:,}",
            str(row["signals"]), net]


def _window(comparison: dict[str, Any]) -> str:
    window, bars = comparison["window"], comparison["bars"]
    start, end = (wib_text(datetime.fromisoformat(window[key])) for key in ("start", "end"))
    return f"{bars['symbol']} {bars['timeframe']} from {bars['source']}, {start} to {end}"


def compare_table(comparison: dict[str, Any]) -> Any:
    """The verdict sentences first, then each configuration's own figures."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    verdict = [Text(sentence) for sentence in comparison["verdict"]]
    table = Table(title=f"Each configuration's own replay ({_window(comparison)}; {comparison['runner']})",
                  title_justify="left")
    for column in COLUMNS:
        table.add_column(column, no_wrap=column not in ("configuration", "changes from the first"))
    for row in comparison["configurations"]:
        table.add_row(*_cells(row))
    note = Text(f"Paired on the bars both served, against '{comparison['first']}'. Each replay's own report is in "
                f"its folder under {comparison['out_dir']}; the comparison in {comparison.get('report', '-')}.")
    return Group(*verdict, table, note)


def write_comparison(comparison: dict[str, Any], out_dir: Path) -> Path:
    """Write comparison.json and comparison.html into `out_dir`; returns the page's path."""
    out_dir.mkdir(parents=True, exist_ok=True)  # on a Dask cluster without a shared folder the replays wrote elsewhere
    (out_dir / "comparison.json").write_text(redacted(json.dumps(comparison, indent=2)), encoding="utf-8")
    path = out_dir / "comparison.html"
    path.write_text(redacted(_html(comparison, out_dir)), encoding="utf-8")
    return path


def _html(comparison: dict[str, Any], out_dir: Path) -> str:
    own = [[html.escape(c) for c in _cells(row)] + [_report_link(row, out_dir)] for row in comparison["configurations"]]
    pairs = [[html.escape(c) for c in (p["a"], p["b"], f"{p['rows']:,}", p["auc_difference_text"],
                                       p["net_total_difference_text"],
                                       {1: "beat", -1: "did worse", 0: "no evidence"}[p["verdict"]])]
             for p in comparison["comparisons"]]
    verdict = "".join(f"<p class=\"verdict\">{html.escape(s)}</p>" for s in comparison["verdict"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>autotrainer replay --compare {html.escape(out_dir.name)}</title>
<style>{CSS}</style></head><body>
<h1>Configurations compared by replay</h1>
<p>{html.escape(_window(comparison))}; every configuration replayed on the same bars and window
({html.escape(comparison['runner'])}).</p>
{verdict}
<h2>Each against '{html.escape(comparison['first'])}', paired on the same bars</h2>
<p class="note">Differences are the configuration minus the first, on the bars where both had a model: realised
AUC by DeLong's test for correlated AUCs, net return (price units, after each bar's spread and the commission)
by the mean of the per-bar difference, each with its 95% interval. Only an interval wholly on one side of zero
is a difference.</p>
{table(["configuration", "against", "bars", "realised AUC difference [95% CI]", "net return difference [95% CI]",
        "verdict"], pairs)}
<h2>Each configuration's own replay</h2>
<p class="note">As each replay's own report gives them: realised AUC and net total of the policy on the bars where
it and its two baselines all had a model.</p>
{table([*COLUMNS, "report"], own)}
<p class="note">Times are WIB (Asia/Jakarta, UTC+7). Written by autotrainer; opens offline.</p>
</body></html>
"""


def _report_link(row: dict[str, Any], out_dir: Path) -> str:
    """A link to that replay's own page, relative to this one (a local file: the page stays offline)."""
    if not row.get("report"):
        return "-"
    report = Path(row["report"])
    if not report.is_relative_to(out_dir):
        return html.escape(str(report))
    target = html.escape(report.relative_to(out_dir).as_posix())
    return f'<a href="{target}">{target}</a>'
