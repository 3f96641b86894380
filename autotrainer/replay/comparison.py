"""The numbers of `replay --compare`: each configuration's own headline figures, as its own replay reports them,
and each configuration paired against the first on the bars both served (`paired.compare`), with the plain
sentence of the verdict rule."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from autotrainer.config import Settings
from autotrainer.replay.paired import compare

# Settings a replay redirects into its own folder or ignores: a difference in them is no difference.
REDIRECTED = ("home", "models_dir", "data_dir", "log_file", "database")


def comparison(configurations: list[Any], results: list[dict[str, Any]], start: datetime, end: datetime,
               runner: str, out_dir: Path) -> dict[str, Any]:
    """The comparison as JSON-able values: window, bars, how it ran, each configuration, each pair."""
    first, base = configurations[0], results[0]
    settings: Settings = first.settings
    pairs = []
    for configuration, result in zip(configurations[1:], results[1:]):
        p_up, net = aligned(base["times"], result)
        paired = compare(configuration.name, first.name, base["target"], p_up, base["p_up"], net, base["net"],
                         base["window"], settings.lookahead, settings.random_seed)
        pairs.append(paired.to_json() | {"auc_difference_text": paired.auc.text(),
                                         "net_total_difference_text": paired.net_total.text(2),
                                         "sentence": paired.sentence(f"'{configuration.name}'", f"'{first.name}'")})
    return {
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "bars": {"source": str(settings.source), "symbol": settings.symbol, "timeframe": settings.timeframe,
                 "lookahead": settings.lookahead},
        "runner": runner,
        "out_dir": str(out_dir),
        "first": first.name,
        "configurations": [headline(c, r, first.settings) for c, r in zip(configurations, results)],
        "comparisons": pairs,
        "verdict": [pair["sentence"] for pair in pairs],
    }


def aligned(times: np.ndarray, result: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A result's P(up) and net return on the rows of `times` (bar times in ns; NaN where it has no such row)."""
    theirs = result["times"]
    index = np.minimum(np.searchsorted(theirs, times), len(theirs) - 1)
    found = theirs[index] == times
    p_up, net = np.full(len(times), np.nan), np.full(len(times), np.nan)
    p_up[found], net[found] = result["p_up"][index[found]], result["net"][index[found]]
    return p_up, net


def headline(configuration: Any, result: dict[str, Any], first: Settings) -> dict[str, Any]:
    """One configuration's own figures (those of its own replay report) and the settings it changes."""
    summary = result["summary"]
    policy = summary["baselines"]["policy"]
    return {"name": configuration.name, "config": str(configuration.path), "out_dir": summary["out_dir"],
            "report": summary.get("report"), "differs_from_first": differences(first, configuration.settings),
            "runs": sum(summary["retrains"].values()), "published": summary["published"],
            "realised_auc": policy["realised_auc"], "realised_auc_low": policy["realised_auc_low"],
            "realised_auc_high": policy["realised_auc_high"], "scored_bars": policy["rows"],
            "signals": policy["edge_signals"], "net_total": policy["edge_total"], "seconds": summary["seconds"]}


def differences(first: Settings, other: Settings) -> dict[str, Any]:
    """The settings `other` changes from `first`, as a manifest records them: never an address or credential."""
    mine, theirs = first.public_dict(), other.public_dict()
    return {key: value for key, value in theirs.items() if key not in REDIRECTED and mine.get(key) != value}
