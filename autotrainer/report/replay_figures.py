"""The numbers behind the replay report's pictures, taken from a `ReplayRun`, and the pictures drawn with them.

Every serving is measured on the common bars (those where the policy and both baselines had a model), as in
the report's tables, so the last point of a cumulative line is the number in the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from autotrainer.metrics import auc_with_ci
from autotrainer.replay.money import cumulative_net, served_sides
from autotrainer.replay.simulate import ReplayRun
from autotrainer.replay.summary import POLICIES, in_window, regimes, scores, served, trained_rows
from autotrainer.report import charts, replay_charts
from autotrainer.report.replay_charts import Spread
from autotrainer.report.tables import status_label
from autotrainer.timeutil import WIB

MIN_AUC_ROWS = 100  # fewer bars so far: the interval spans everything, so the cumulative line starts later
MAX_POINTS = 150  # points on a cumulative AUC line, spread evenly over the common bars
TOP_FEATURES = 20


@dataclass(frozen=True)
class Figure:
    """A picture of the report: its file name beside report.html and what it shows (the HTML caption)."""

    name: str
    caption: str


def common_rows(run: ReplayRun) -> np.ndarray:
    """Bars inside the window with a known outcome where all three servings had a model."""
    return in_window(run) & np.logical_and.reduce([served(run, name).covered for name in POLICIES])


def cumulative_realised(run: ReplayRun) -> list[charts.Series]:
    """Per serving, the realised AUC (and 95% interval) of all common bars up to each of up to MAX_POINTS bars
    spread evenly over the window; the last point is every common bar's."""
    rows = np.flatnonzero(common_rows(run))
    ends = np.unique(np.linspace(min(MIN_AUC_ROWS, len(rows)) - 1, len(rows) - 1, MAX_POINTS).round().astype(int))
    out = []
    for name in POLICIES:
        p = scores(run, served(run, name))
        when, value, low, high = [], [], [], []
        for end in ends[ends >= 0]:
            so_far = rows[:end + 1]
            if len(so_far) < MIN_AUC_ROWS or len(np.unique(run.target[so_far])) < 2:
                continue
            auc = auc_with_ci(run.target[so_far], p[so_far])
            when.append(run.close_times.iloc[so_far[-1]].to_pydatetime())
            value.append(auc.auc)
            low.append(auc.low)
            high.append(auc.high)
        out.append(charts.Series(name, when, value, low, high))
    return out


def candidate_points(run: ReplayRun) -> list[charts.RunPoint]:
    """Every retrain that trained a candidate: its test AUC with interval and whether it was published."""
    return [charts.RunPoint(datetime.fromisoformat(r.started_at), r.test_auc, r.test_auc_low, r.test_auc_high,
                            status_label(r.status), r.training_type == "emergency")
            for r in (t.record for t in trained_rows(run)) if r.test_auc is not None]


def switches(run: ReplayRun) -> list[datetime]:
    """When each published model took over serving the bot, inside the window."""
    return [t.available_at for t in run.trained if t.published and run.start <= t.available_at <= run.end]


def daily_regime_shares(run: ReplayRun) -> tuple[list[datetime], dict[str, list[float]]]:
    """Per WIB day, the share of bars in each regime under the policy's model in service."""
    states = regimes(run, served(run, "policy"))
    trained = [t for t in run.trained if t.candidate is not None]
    names = list(trained[0].candidate.regime.state_names) if trained else ["low", "medium", "high"]
    keep = in_window(run) & (states >= 0)
    if not keep.any():
        return [], {name: [] for name in names}
    days = run.close_times.dt.tz_convert(WIB).dt.normalize()
    frame = pd.DataFrame({"day": days[keep].to_numpy(), "state": states[keep]})
    counts = frame.groupby(["day", "state"]).size().unstack(fill_value=0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    every_day = pd.date_range(shares.index.min(), shares.index.max() + pd.Timedelta(days=1), freq="D")
    shares = shares.reindex(every_day, fill_value=0.0)  # days without bars (weekends, holidays) stay blank
    return ([d.to_pydatetime() for d in shares.index],
            {name: shares[i].tolist() if i in shares else [0.0] * len(shares) for i, name in enumerate(names)})


def importance_across_models(run: ReplayRun) -> tuple[list[Spread], int, int, str]:
    """Gain share of each feature in every published model (every trained candidate if none was published):
    the top features by median with their interquartile range, how many features and models, and whose."""
    published = [t.candidate for t in run.trained if t.published]
    models = published or [t.candidate for t in run.trained if t.candidate is not None]
    features = sorted({name for m in models for name in m.booster.feature_names or []})
    if not models or not features:
        return [], len(features), len(models), ""
    share = np.zeros((len(models), len(features)))
    column = {name: j for j, name in enumerate(features)}
    for i, model in enumerate(models):
        gains = model.booster.get_score(importance_type="gain")
        total = sum(gains.values()) or 1.0
        for name, gain in gains.items():
            share[i, column[name]] = gain / total
    median, q25, q75 = (np.percentile(share, q, axis=0) for q in (50, 25, 75))
    top = np.argsort(-median, kind="stable")[:TOP_FEATURES]
    rows = [Spread(features[j], float(median[j]), float(q25[j]), float(q75[j])) for j in top]
    return rows, len(features), len(models), "published" if published else "trained (none was published)"


def money_lines(run: ReplayRun) -> tuple[list[charts.Series], tuple[datetime, datetime, float] | None]:
    """Cumulative net return on the common bars of each serving's signals, always-long and buy-and-hold
    (price units), and the policy's worst drawdown (`worst_drawdown`)."""
    rows, lines = common_rows(run), []
    for name in POLICIES:
        serving = served(run, name)
        sides, _ = served_sides(run, serving.model, scores(run, serving))
        money = cumulative_net(run, sides, rows)
        shown = money["rows"]
        when = [t.to_pydatetime() for t in run.close_times[shown]]
        lines.append(charts.Series(name, when, list(money["signals"][shown])))
        if name == "policy":
            lines.append(charts.Series("always_long", when, list(money["always_long"][shown])))
            lines.append(charts.Series("buy_and_hold", when, _buy_and_hold(run, np.flatnonzero(shown))))
    return lines, worst_drawdown(lines[0])


def _buy_and_hold(run: ReplayRun, rows: np.ndarray) -> list[float]:
    """Bought at the first bar's close (one spread and commission paid), worth each later bar's horizon close."""
    if not len(rows):
        return []
    first = rows[0]
    cost = run.spread[first] * run.costs.point + run.settings.commission_per_trade
    return list(run.close[rows + run.settings.lookahead] - run.close[first] - cost)


def worst_drawdown(line: charts.Series) -> tuple[datetime, datetime, float] | None:
    """The largest fall of a cumulative line from a peak to a later trough, as (peak, trough, how far it fell:
    a positive number); None if it never fell."""
    values = np.asarray(line.value, dtype=float)
    if not len(values):
        return None
    falls = np.maximum.accumulate(values) - values
    trough = int(np.argmax(falls))
    if falls[trough] <= 0:
        return None
    peak = trough - int(np.argmax(values[trough::-1]))  # the last time it stood at the peak it fell from
    return line.when[peak], line.when[trough], float(falls[trough])


def draw(run: ReplayRun, out: Path) -> list[Figure]:
    """Draw the report's pictures into `out`; each with the caption that says what it shows and how to read it."""
    bar, unit = run.settings.timeframe, f"{run.settings.symbol} price units"
    figures = []
    replay_charts.realised_auc(out / "auc_over_time.png", cumulative_realised(run), bar,
                               f"Realised AUC so far, per way of serving the bot (common {bar} bars)")
    figures.append(Figure("auc_over_time.png", (
        f"Realised AUC of each way of serving the bot, cumulative: each point scores every common {bar} bar "
        "from the start of the window up to that moment, so the last point is the table's realised AUC. The shaded "
        "bands are 95% intervals; where the bands overlap, the data cannot tell the servings apart. 0.5 is a "
        "coin flip.")))
    floor, target = run.settings.publish_floor_auc, run.settings.min_auc_threshold
    replay_charts.candidate_aucs(out / "candidates_auc.png", candidate_points(run), floor, target, bar,
                                 "Each candidate's test AUC against the publishing floor")
    figures.append(Figure("candidates_auc.png", (
        "Every retrain that trained a candidate: its test AUC (on its own held-out slice, before it served) "
        "with the 95% interval, coloured by what the policy did with it; the dashed red line is the "
        "publishing floor. A threshold far from the data is named in the legend instead of drawn.")))
    lines, drawdown = money_lines(run)
    replay_charts.money(out / "net_return.png", lines, drawdown, unit,
                        f"Cumulative net return after costs (common {bar} bars)")
    figures.append(Figure("net_return.png", (
        f"What acting on the signals would have earned after spread and commission, each signal held for "
        f"{run.settings.lookahead} {bar} bar(s), in {unit}; against always long (long on every common {bar} "
        "bar, same costs) and buy and hold. The shaded span is the policy's worst fall from a peak. Not a "
        "backtest of the bot's own stop-loss/take-profit logic.")))
    days, shares = daily_regime_shares(run)
    replay_charts.regime_shares(out / "regime_shares.png", days, shares, switches(run), bar,
                                f"Volatility regime of each day's {bar} bars (model in service), model switches marked")
    figures.append(Figure("regime_shares.png", (
        f"For each day, the share of its {bar} bars the serving model's HMM put in each volatility regime; "
        "black lines mark when a newly published model took over, so a change of colour at a line is the new "
        "model's view, not the market's.")))
    spread, features, models, whose = importance_across_models(run)
    if spread:
        title = f"Feature importance: top {len(spread)} of {features} features, across {models} models"
        replay_charts.importance_spread(out / "feature_importance.png", spread, title)
        figures.append(Figure("feature_importance.png", (
            f"Share of each model's total gain per feature, over all {models} {whose} models: the length is the "
            "median (light blue), the whiskers the 25th-75th percentile. Short whiskers mean the ranking held "
            "from model to model; long ones mean it moved.")))
    return figures
