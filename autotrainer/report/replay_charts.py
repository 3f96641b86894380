"""The replay report's pictures, one question each: plain numbers in, a PNG out (matplotlib, Agg, offline).

Realised AUC and the candidates' test AUC are different quantities, so they get different pictures; a
threshold far from the data is named in the legend instead of squeezing the data into a corner. Every label
that names a bar says the run's timeframe (`bar` is e.g. "H1").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Sequence

from autotrainer.report.charts import (
    DPI,
    OUTCOME_STYLE,
    RunPoint,
    Series,
    legend_below,
    percent_axis,
    pyplot,
    save,
    time_axis,
)

REGIME_COLOURS = {"low": "#4575b4", "medium": "#fdae61", "high": "#d73027"}
# The policy is drawn wide and underneath, so a baseline that served the same model stays visible on top of it.
SERVING_STYLE = {"policy": ("#1f77b4", "-", 3.2, "policy (what it published)"),
                 "keep_first": ("#333333", "--", 1.3, "baseline: keep the first model"),
                 "publish_every": ("#9467bd", ":", 1.8, "baseline: publish every retrain"),
                 "always_long": ("#d9a400", "-.", 1.4, "always long (same costs)"),
                 "buy_and_hold": ("#1a9850", "-", 1.0, "buy and hold (one spread)")}
NEAR = 0.04  # a reference line this close to the data is drawn; a farther one is only named in the legend


@dataclass(frozen=True)
class Spread:
    """One feature's gain share across models: median and interquartile range."""

    name: str
    median: float
    q25: float
    q75: float


def realised_auc(path: Path, lines: Sequence[Series], bar: str, title: str) -> Path:
    """Cumulative realised AUC of each serving with its 95% band: the last point is the whole window's AUC."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 5.4), dpi=DPI)
    for line in lines:
        colour, style, width, text = SERVING_STYLE.get(line.name, ("#555555", "-", 1.4, line.name))
        ax.plot(line.when, line.value, color=colour, linestyle=style, linewidth=width, label=text,
                marker="." if len(line.value) < 20 else None)  # a few points would not show as a line
        if line.low is not None:
            ax.fill_between(line.when, line.low, line.high, color=colour, alpha=0.10, label=f"{text}: 95% interval")
    ax.axhline(0.5, color="#555555", linestyle=":", linewidth=0.9, label="0.5 = coin flip")
    if any(len(line.value) for line in lines):
        time_axis(ax)
    else:  # nothing to draw: no dates to tick (matplotlib would show its default, 1970)
        ax.text(0.5, 0.6, f"too few common {bar} bars with a known outcome for a realised AUC",
                transform=ax.transAxes, ha="center", color="#555555")
        ax.set_xticks([])
        ax.set_xlabel("date (WIB)")
    ax.set_ylabel(f"realised ROC AUC so far\n(next {bar} bar up/down)")
    ax.set_title(title)
    legend_below(ax)
    return save(fig, path)


def candidate_aucs(path: Path, runs: Sequence[RunPoint], floor: float, target: float, bar: str, title: str) -> Path:
    """Each trained candidate's test AUC with its 95% interval, published and rejected marked apart, against
    the publishing floor; the y axis fits the intervals, and a far-away line is named rather than drawn."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 5.0), dpi=DPI)
    scored = [r for r in runs if r.auc is not None]
    if scored:
        ax.errorbar([r.when for r in scored], [r.auc for r in scored],
                    yerr=[[r.auc - (r.low if r.low is not None else r.auc) for r in scored],
                          [(r.high if r.high is not None else r.auc) - r.auc for r in scored]],
                    fmt="none", ecolor="#aaaaaa", elinewidth=1, capsize=2, zorder=2, label="95% interval")
    for outcome, (marker, colour, text) in OUTCOME_STYLE.items():
        points = [r for r in scored if r.outcome == outcome]
        if points:
            ax.scatter([r.when for r in points], [r.auc for r in points], marker=marker, color=colour, s=34,
                       zorder=4, label=text)
    values = [v for r in scored for v in (r.low, r.high, r.auc) if v is not None] or [floor]
    low, high = min(values) - 0.01, max(values) + 0.01
    for level, colour, style, text in ((floor, "#d73027", "--", f"publishing floor {floor:g} (publish_floor_auc)"),
                                       (target, "#1a9850", "--", f"success target {target:g} (min_auc_threshold)"),
                                       (0.5, "#555555", ":", "0.5 = coin flip")):
        if low - NEAR <= level <= high + NEAR:
            low, high = min(low, level - 0.01), max(high, level + 0.01)
            ax.axhline(level, color=colour, linestyle=style, linewidth=1.1, label=text)
        else:  # named, not drawn: a line far away would squeeze the intervals into a sliver
            ax.plot([], [], color=colour, linestyle=style, label=f"{text}: {'above' if level > high else 'below'}"
                                                                 " the chart")
    ax.set_ylim(max(0.0, low), min(1.0, high))
    time_axis(ax, "retrain started (WIB)")
    ax.set_ylabel(f"test ROC AUC\n(next {bar} bar up/down)")
    ax.set_title(title)
    legend_below(ax)
    return save(fig, path)


def regime_shares(path: Path, days: Sequence[datetime], shares: dict[str, Sequence[float]],
                  switches: Sequence[datetime], bar: str, title: str) -> Path:
    """Share of each day's bars in each volatility regime, with the moments a new model took over marked."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 4.6), dpi=DPI)
    names = [n for n in ("low", "medium", "high") if n in shares] + [n for n in shares if n not in REGIME_COLOURS]
    if days:
        ax.stackplot(days, *[shares[n] for n in names], labels=[f"{n} volatility" for n in names],
                     colors=[REGIME_COLOURS.get(n, "#999999") for n in names], alpha=0.85, step="post")
    for i, when in enumerate(switches):
        ax.axvline(when, color="black", linewidth=0.9, alpha=0.7,
                   label="model switch (a newly published model took over)" if i == 0 else None)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"share of the day's {bar} bars")
    ax.yaxis.set_major_formatter(percent_axis())
    time_axis(ax)
    ax.set_title(title)
    legend_below(ax)
    return save(fig, path)


def importance_spread(path: Path, rows: Sequence[Spread], title: str) -> Path:
    """Median gain share per feature, largest first, with whiskers from the 25th to the 75th percentile."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.32 * len(rows) + 1.6), dpi=DPI)
    ordered = list(rows)[::-1]
    names = [r.name for r in ordered]
    ax.barh(names, [r.median for r in ordered], color="#9ecae1", label="median across models")
    ax.errorbar([r.median for r in ordered], names, xerr=[[r.median - r.q25 for r in ordered],
                                                          [r.q75 - r.median for r in ordered]],
                fmt="none", ecolor="#08306b", elinewidth=1.2, capsize=3, label="25th-75th percentile")
    ax.xaxis.set_major_formatter(percent_axis())
    ax.set_xlabel("share of the model's total gain")
    ax.grid(True, axis="x", alpha=0.25)
    ax.set_title(title)
    legend_below(ax)
    return save(fig, path)


def money(path: Path, lines: Sequence[Series], drawdown: tuple[datetime, datetime, float] | None, unit: str,
          title: str) -> Path:
    """Cumulative net return of each serving's signals against always-long and buy-and-hold; the policy's
    worst drawdown (peak to trough) shaded."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 5.6), dpi=DPI)
    for line in lines:
        colour, style, width, text = SERVING_STYLE.get(line.name, ("#555555", "-", 1.4, line.name))
        if line.name in ("policy", "keep_first", "publish_every"):
            text = f"signals of the {text}"
        ax.plot(line.when, line.value, color=colour, linestyle=style, linewidth=width, label=text)
    ax.axhline(0.0, color="#555555", linewidth=0.8)
    if drawdown is not None:
        peak, trough, depth = drawdown
        ax.axvspan(peak, trough, color="#d73027", alpha=0.12,
                   label=f"policy's worst drawdown: {depth:,.2f} from peak to trough")
    time_axis(ax)
    ax.set_ylabel(f"cumulative net return\n({unit})")
    ax.set_title(title)
    legend_below(ax)
    return save(fig, path)
