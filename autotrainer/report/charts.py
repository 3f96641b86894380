"""Pictures an operator can look at instead of reading rows: PNG files drawn with matplotlib, offline.

Plain data in, a file out: `history --plot` prepares the numbers, these functions only draw them; the replay's
pictures (replay_charts) share the styles and axes defined here. Time axes are in WIB (the operator's clock);
the run history always draws both thresholds, so a reader sees at a glance how far honest AUCs sit from the
seed's 0.65 target and from the publishing floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Sequence

from autotrainer.timeutil import WIB

OUTCOME_STYLE = {  # status label -> (marker, colour, legend text)
    "success": ("o", "#1a9850", "published (success)"),
    "warning": ("o", "#d9a400", "published with WARNING"),
    "rejected": ("x", "#d73027", "rejected (below floor or champion)"),
    "skipped": ("v", "#7f7f7f", "skipped (too few bars, or nothing changed)"),
    "failed": ("v", "#000000", "failed"),
    "interrupted": ("v", "#9e0142", "interrupted"),
    "running": ("v", "#4575b4", "still running"),
}
EVENT_TEXT = {"rollback": "rollback (by the operator)", "restore": "restore (a broken pair replaced from backup)"}
DPI = 110


@dataclass(frozen=True)
class Thresholds:
    floor: float  # publish_floor_auc: below it a candidate is rejected
    target: float  # min_auc_threshold: at or above it a run is a success


@dataclass(frozen=True)
class RunPoint:
    """One retrain on a chart: when, its test AUC with interval (None when it trained nothing), outcome."""

    when: datetime
    auc: float | None
    low: float | None
    high: float | None
    outcome: str  # a status label: success, warning, rejected, skipped, failed, ...
    emergency: bool = False
    judged_by: Thresholds | None = None  # the thresholds in force when it ran (None: not recorded)
    live: bool = False  # it is the published pair now


@dataclass(frozen=True)
class Series:
    """A line over time (a serving's realised AUC, its money), with an optional 95% band."""

    name: str
    when: Sequence[datetime]
    value: Sequence[float]
    low: Sequence[float] | None = None
    high: Sequence[float] | None = None


def pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, imported only when a picture is drawn (it is heavy)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no screen, no GUI toolkit
    import matplotlib.pyplot as plt

    return plt


# ConciseDateFormatter's tick labels per level (years, months, days, hours, minutes, seconds): its default
# labels second ticks '30.000' and minute ticks '05:10', so on a short history seconds read as minutes.
TICK_FORMATS = ["%Y", "%b", "%d", "%H:%M", "%H:%M", "%H:%M:%S"]
ZERO_TICK_FORMATS = ["", "%Y", "%b", "%b-%d", "%H:%M", "%H:%M:%S"]
OFFSET_FORMATS = ["", "%Y", "%Y-%b", "%Y-%b-%d", "%Y-%b-%d", "%Y-%b-%d"]


def time_axis(ax: Any, label: str = "date (WIB)") -> None:
    """Dates on the x axis in WIB, the operator's clock, with ticks that read right at any span."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(tz=WIB, minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=WIB, formats=TICK_FORMATS,
                                                             zero_formats=ZERO_TICK_FORMATS,
                                                             offset_formats=OFFSET_FORMATS))
    ax.set_xlabel(label)
    ax.grid(True, alpha=0.25)


def _thresholds(ax, thresholds: Thresholds, whose: str = "") -> None:
    ax.axhline(thresholds.target, color="#1a9850", linestyle="--", linewidth=1, alpha=0.6 if whose else 1,
               label=f"{whose}success target {thresholds.target:g} (min_auc_threshold)")
    ax.axhline(thresholds.floor, color="#d73027", linestyle="--", linewidth=1, alpha=0.6 if whose else 1,
               label=f"{whose}publishing floor {thresholds.floor:g} (publish_floor_auc)")
    ax.axhline(0.5, color="#555555", linestyle=":", linewidth=0.8, label="0.5 = coin flip")


def _judged_thresholds(ax, runs: Sequence[RunPoint], judged: Sequence[Thresholds]) -> None:
    """Each run's floor and target as short bars at the run: what it was judged by when it ran."""
    xs = [r.when for r in runs]
    ax.scatter(xs, [j.target for j in judged], marker="_", color="#1a9850", s=400, linewidths=2.5, zorder=3,
               label="success target the run was judged by")
    ax.scatter(xs, [j.floor for j in judged], marker="_", color="#d73027", s=400, linewidths=2.5, zorder=3,
               label="publishing floor the run was judged by")


def _y_limits(ax, thresholds: Thresholds, values: Sequence[float]) -> None:
    finite = [v for v in values if v is not None and v == v]
    low = min([thresholds.floor, 0.5, *finite]) - 0.03
    high = max([thresholds.target, *finite]) + 0.03
    ax.set_ylim(max(0.0, low), min(1.0, high))


def _run_markers(ax, runs: Sequence[RunPoint], bottom: float) -> None:
    """Each run as a marker at its test AUC; runs without one sit on the bottom edge; emergencies ringed."""
    seen: set[str] = set()
    for outcome in OUTCOME_STYLE:
        marker, colour, text = OUTCOME_STYLE[outcome]
        points = [r for r in runs if r.outcome == outcome]
        if not points:
            continue
        xs = [r.when for r in points]
        ys = [r.auc if r.auc is not None else bottom for r in points]
        ax.scatter(xs, ys, marker=marker, color=colour, s=28, zorder=4, label=text if text not in seen else None)
        seen.add(text)
    emergencies = [r for r in runs if r.emergency]
    if emergencies:
        ax.scatter([r.when for r in emergencies], [r.auc if r.auc is not None else bottom for r in emergencies],
                   marker="o", facecolors="none", edgecolors="#ff7f0e", s=90, linewidths=1.2, zorder=5,
                   label="emergency retrain (ringed)")


def run_history(path: Path, runs: Sequence[RunPoint], thresholds: Thresholds, title: str = "",
                events: Sequence[tuple[datetime, str]] = ()) -> Path:
    """`history --plot`: each run's test AUC with its 95% interval over time, outcome marked, each run's floor
    and target as the ones it was judged by (today's `thresholds` where a run did not record them, and as a
    line of their own when they differ), the live model ringed, rollbacks and restores as vertical lines."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(12, 5.6), dpi=DPI)
    with_ci = [r for r in runs if r.auc is not None and r.low is not None and r.high is not None]
    if with_ci:
        ax.errorbar([r.when for r in with_ci], [r.auc for r in with_ci],
                    yerr=[[r.auc - r.low for r in with_ci], [r.high - r.auc for r in with_ci]],
                    fmt="none", ecolor="#999999", elinewidth=1, capsize=2, zorder=2, label="test AUC 95% interval")
    judged = [r.judged_by or thresholds for r in runs]
    if runs and any(j != thresholds for j in judged):
        _judged_thresholds(ax, runs, judged)
        _thresholds(ax, thresholds, "today's ")
    else:
        _thresholds(ax, thresholds)
    _y_limits(ax, thresholds, [v for r in with_ci for v in (r.low, r.high)] + [v for j in judged for v in (j.floor,
                                                                                                         j.target)])
    _run_markers(ax, runs, ax.get_ylim()[0] + 0.005)
    live = [r for r in runs if r.live]
    if live:
        ax.scatter([r.when for r in live], [r.auc if r.auc is not None else ax.get_ylim()[0] for r in live],
                   marker="*", color="#1f77b4", edgecolors="black", s=220, zorder=6, label="live model now")
    for when, kind in events:
        ax.axvline(when, color="#9e0142", linestyle="-.", linewidth=1, label=EVENT_TEXT.get(kind, kind))
    time_axis(ax, "run started (WIB)")
    ax.set_ylabel("test ROC AUC")
    ax.set_title(title or "Run history")
    legend_below(ax)
    return save(fig, path)


def percent_axis() -> Any:
    """A formatter that shows shares (0-1) as whole percents."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


def legend_below(ax: Any) -> None:
    """Below the plot, so it never covers a line or marker."""
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    if unique:
        ax.legend(unique.values(), unique.keys(), loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3,
                  fontsize=8, frameon=False)


def save(fig: Any, path: Path) -> Path:
    """Write the picture and free it: a long replay draws many, and pyplot keeps every open figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path
