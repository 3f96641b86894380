"""The replay's report: `summary.json`, PNG charts and a `report.html` that opens offline beside them."""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autotrainer.history.service import History
from autotrainer.metrics import auc_with_ci
from autotrainer.replay.money import cumulative_net, served_sides
from autotrainer.replay.simulate import ReplayRun, replay_settings
from autotrainer.replay.summary import POLICIES, in_window, regimes, scores, served, trained_rows
from autotrainer.report import charts
from autotrainer.report.replay_table import edge_ci
from autotrainer.report.tables import status_label
from autotrainer.timeutil import WIB, wib_text

MIN_WEEK_ROWS = 100  # fewer bars in a week: its AUC interval spans everything, so no point is drawn
POLICY_TEXT = {"policy": "the policy (what it published)", "keep_first": "keep the first model",
               "publish_every": "publish every retrain"}


def write_report(run: ReplayRun, summary: dict[str, Any]) -> Path:
    """Write summary.json, the charts and report.html into the replay's folder; returns the report's path."""
    out = run.out_dir
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    thresholds = charts.Thresholds(run.settings.publish_floor_auc, run.settings.min_auc_threshold)
    pictures = {
        "auc_over_time.png": charts.auc_over_time(
            out / "auc_over_time.png", run_points(run), reported_series(run), weekly_realised(run), thresholds,
            _model_events(run), "Replay: realised AUC per week vs the reported test AUC, every retrain marked"),
        "net_return.png": charts.net_return_over_time(
            out / "net_return.png", money_lines(run), run_points(run), "price units, e.g. USD per ounce",
            "Replay: cumulative net return after costs of the served model's signals, every retrain marked"),
        "regime_shares.png": charts.regime_shares(out / "regime_shares.png", *daily_regime_shares(run),
                                                  "Replay: volatility regime of each day's bars (model in service)"),
    }
    importance, whose = last_model_importance(run)
    if importance:
        pictures["feature_importance.png"] = charts.feature_importance(out / "feature_importance.png", importance,
                                                                       f"Feature importance of {whose}")
    path = out / "report.html"
    path.write_text(_html(run, summary, list(pictures)), encoding="utf-8")
    return path


def run_points(run: ReplayRun) -> list[charts.RunPoint]:
    return [charts.RunPoint(datetime.fromisoformat(t.record.started_at), t.record.test_auc, t.record.test_auc_low,
                            t.record.test_auc_high, status_label(t.record.status), t.record.training_type == "emergency")
            for t in trained_rows(run)]


def money_lines(run: ReplayRun) -> list[charts.Series]:
    """Cumulative net return of the policy's signals, always-long and no-trade, on the bars inside the
    window where the policy had a model (one point per bar)."""
    serving = served(run, "policy")
    sides, _ = served_sides(run, serving.model, scores(run, serving))
    money = cumulative_net(run, sides, in_window(run) & serving.covered)
    rows = money["rows"]
    when = [t.to_pydatetime() for t in run.close_times[rows]]
    return [charts.Series(name, when, list(money[name][rows])) for name in ("signals", "always_long", "no_trade")]


def reported_series(run: ReplayRun) -> charts.Series | None:
    """Step line of the test AUC (and interval) the model in service reported when it was trained."""
    published = [t for t in run.trained if t.published and t.record.test_auc is not None]
    if not published:
        return None
    when = [max(t.available_at, run.start) for t in published] + [run.end]
    last = published[-1].record
    return charts.Series("reported", when, [t.record.test_auc for t in published] + [last.test_auc],
                         [t.record.test_auc_low for t in published] + [last.test_auc_low],
                         [t.record.test_auc_high for t in published] + [last.test_auc_high])


def _weeks(run: ReplayRun) -> pd.Series:
    """The WIB week (its Monday) each feature row's bar closed in."""
    local = run.close_times.dt.tz_convert(WIB)
    return (local - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.normalize()


def weekly_realised(run: ReplayRun) -> list[charts.Series]:
    """Realised AUC of each policy per WIB week (bars whose outcome is known), with the policy's interval."""
    weeks, window = _weeks(run), in_window(run)
    out = []
    for name in POLICIES:
        serving = served(run, name)
        p = scores(run, serving)
        when, value, low, high = [], [], [], []
        for week in sorted(weeks[window & serving.covered].unique()):
            rows = (weeks == week).to_numpy() & window & serving.covered
            if rows.sum() < MIN_WEEK_ROWS or len(np.unique(run.target[rows])) < 2:
                continue
            auc = auc_with_ci(run.target[rows], p[rows])
            when.append((week + timedelta(days=3, hours=12)).to_pydatetime())
            value.append(auc.auc)
            low.append(auc.low)
            high.append(auc.high)
        banded = name == "policy"
        out.append(charts.Series(name, when, value, low if banded else None, high if banded else None))
    return out


def daily_regime_shares(run: ReplayRun) -> tuple[list[datetime], dict[str, list[float]]]:
    """Per WIB day, the share of bars in each regime under the policy's model in service."""
    serving = served(run, "policy")
    states = regimes(run, serving)
    names = _state_names(run)
    days = run.close_times.dt.tz_convert(WIB).dt.normalize()
    keep = in_window(run) & (states >= 0)
    if not keep.any():
        return [], {name: [] for name in names}
    frame = pd.DataFrame({"day": days[keep].to_numpy(), "state": states[keep]})
    counts = frame.groupby(["day", "state"]).size().unstack(fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    every_day = pd.date_range(shares.index.min(), shares.index.max() + pd.Timedelta(days=1), freq="D")
    shares = shares.reindex(every_day, fill_value=0.0)  # days without bars (weekends, holidays) stay blank
    return ([d.to_pydatetime() for d in shares.index],
            {name: shares[i].tolist() if i in shares else [0.0] * len(shares) for i, name in enumerate(names)})


def _state_names(run: ReplayRun) -> list[str]:
    trained = [t for t in run.trained if t.candidate is not None]
    return list(trained[0].candidate.regime.state_names) if trained else ["low", "medium", "high"]


def last_model_importance(run: ReplayRun) -> tuple[dict[str, float], str]:
    """Gain shares of the last published model (or, if none was published, the last trained candidate)."""
    published = [t for t in run.trained if t.published]
    trained = published or [t for t in run.trained if t.candidate is not None]
    if not trained:
        return {}, ""
    last = trained[-1]
    gains = last.candidate.booster.get_score(importance_type="gain")
    total = sum(gains.values()) or 1.0
    what = "the last published model" if published else "the last candidate (none was published)"
    return {k: v / total for k, v in gains.items()}, f"{what}, {last.record.run_id}"


def _model_events(run: ReplayRun) -> list[tuple[datetime, str]]:
    history = History(replay_settings(run.settings, run.out_dir))
    try:
        events = history.view(limit=1_000_000).events
    finally:
        history.close()
    return [(datetime.fromisoformat(e.occurred_at), e.kind) for e in events if e.kind in ("rollback", "restore")]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return html.escape(str(value))


def _interval(numbers: dict[str, Any], key: str) -> str:
    if numbers.get(key) is None:
        return "-"
    return f"{numbers[key]:.4f} [{numbers[key + '_low']:.3f}-{numbers[key + '_high']:.3f}]"


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html(run: ReplayRun, summary: dict[str, Any], pictures: list[str]) -> str:
    s, b = run.settings, summary["baselines"]
    policy_rows = [[html.escape(POLICY_TEXT[name]), _interval(b[name], "realised_auc"), str(b[name]["rows"]),
                    str(b[name]["models_used"]), _fmt(b[name]["hours_without_model"], 1),
                    f"{b[name]['signal_buys']} / {b[name]['signal_sells']}", _fmt(b[name]["signal_coverage"], 3),
                    _interval(b[name], "signal_hit_rate")] for name in POLICIES]
    type_rows = [[html.escape(kind), str(row["runs"]),
                  " ".join(f"{k} {v}" for k, v in row.items()
                           if k not in ("runs", "mean_test_auc", "mean_realised_auc", "mean_seconds")),
                  _fmt(row["mean_test_auc"]), _fmt(row["mean_realised_auc"]), _fmt(row["mean_seconds"], 2)]
                 for kind, row in summary["by_type"].items()]
    counts = [["retrains by type", html.escape(_pairs(summary["retrains"]))],
              ["retrains by trigger", html.escape(_pairs(summary["triggers"]))],
              ["outcomes", html.escape(_pairs(summary["outcomes"]))],
              ["AUC bands of the runs that trained", html.escape(_pairs(summary["auc_bands"]) or "none")],
              ["emergency retrains", str(summary["emergency_retrains"])],
              ["retrains skipped: nothing changed since the last trained run",
               str(summary.get("skipped_unchanged", 0))],
              ["guard holds (episodes)", html.escape(_pairs(summary["holds"]) or "none")],
              ["hours without a usable model", _fmt(summary["hours_without_model"], 1)],
              ["mean reported test AUC (published models)", _fmt(summary["mean_reported_auc"])],
              ["mean realised AUC (same models, bars they served)", _fmt(summary["mean_realised_auc"])],
              ["optimism gap (reported - realised)", _fmt(summary["optimism_gap"])],
              ["wall time", f"{summary['seconds']:.1f} s"]]
    images = "".join(f'<figure><img src="{name}" alt="{name}"></figure>' for name in pictures)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>autotrainer replay {html.escape(run.out_dir.name)}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, Arial, sans-serif; margin: 2em auto; max-width: 1300px;
       color: #222; line-height: 1.45; }}
table {{ border-collapse: collapse; margin: 0.8em 0 1.6em; font-size: 0.92em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 9px; text-align: left; vertical-align: top; }}
th {{ background: #f2f2f2; }}
figure {{ margin: 1.2em 0; }} img {{ max-width: 100%; border: 1px solid #ddd; }}
.note {{ color: #555; font-size: 0.92em; }}
</style></head><body>
<h1>Replay of the retraining policy</h1>
<p>{html.escape(s.symbol)} {html.escape(s.timeframe)}, {wib_text(run.start)} to {wib_text(run.end)};
{run.ticks:,} scheduler ticks (every 15 minutes, as cron fires <code>autotrainer check --run</code>).
Models, backups, history and the log of this replay are in <code>{html.escape(str(run.out_dir))}</code>.</p>
<h2>Summary</h2>{_table(["", ""], counts)}
<h2>The policy against simple baselines</h2>
<p class="note">Scored on the same {summary['common_bars']:,} bars (those where all three had a model), each bar by
the model its policy had when the bar closed. Signals: P(up) at or above each model's
<code>confidence_threshold</code> (its manifest's; {_fmt(b["policy"]["signal_threshold"], 2)} for the policy) is
BUY, at or below 1 minus it is SELL; hit rate with a Wilson 95% interval. Intervals that overlap mean the data
cannot tell the policies apart.</p>
{_table(["serving", "realised AUC [95% CI]", "bars", "models", "hours without model", "BUY / SELL",
         "coverage", "hit rate [95% CI]"], policy_rows)}
{_money_table(summary)}
<h2>Per training type</h2>
{_table(["type", "runs", "outcomes", "mean test AUC", "mean realised AUC", "mean seconds"], type_rows)}
<h2>Charts</h2>{images}
<p class="note">Times are WIB (Asia/Jakarta, UTC+7). "Rejected" is what the seed called a rollback: the candidate
was not published and the model in service stayed. Written by autotrainer; opens offline.</p>
</body></html>
"""


def _money_table(summary: dict[str, Any]) -> str:
    """The policies' money: net edge per signal with its interval, totals, always-long and no-trade."""
    b = summary["baselines"]
    rows = [[html.escape(POLICY_TEXT[name]), str(b[name]["edge_signals"]), edge_ci(b[name], "edge"),
             _fmt(b[name]["edge_total"], 2), html.escape(b[name]["edge_verdict"]),
             edge_ci(b[name], "edge_always_long"), _fmt(b[name]["edge_always_long_total"], 2)]
            for name in POLICIES]
    policy = b["policy"]
    return f"""<h2>Money after costs</h2>
<p class="note">Each signal held for <code>lookahead</code> bars from its bar's close and charged that bar's spread
({html.escape(str(policy.get("edge_spread_source")))}; point {policy.get("edge_point")} from
{html.escape(str(policy.get("edge_point_source")))}) plus <code>commission_per_trade</code>, in price units;
interval: {html.escape(str(policy.get("edge_method")))}. Always long buys every one of the same bars; no trade is 0.
Not a backtest of the bot's own stop-loss/take-profit logic.</p>
{_table(["serving", "signals", "net per signal [95% CI]", "total net", "verdict", "always long per bar [95% CI]",
         "always long total"], rows)}"""


def _pairs(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())
