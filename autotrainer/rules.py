"""The rules every layer shares, each defined once: when the bot acts, and how an AUC is judged.

Plain Python with no imports, so the settings, the scheduler's fast path and the bot's API can all use them
without loading numpy. They work on a number and, through its operators, on a numpy array alike.
"""

from __future__ import annotations

from typing import Any

# The stored status of a candidate that was not published: the seed's database value, kept for its schema.
# People read "rejected" (history/words.py); code says REJECTED.
REJECTED = "rolled_back"
# The probability the bot needs before it acts on a signal (the seed's 0.60); a manifest records its own.
DEFAULT_CONFIDENCE_THRESHOLD = 0.60


def is_buy(p_up: Any, threshold: float) -> Any:
    """The bot buys when P(up) reaches the threshold."""
    return p_up >= threshold


def is_sell(p_up: Any, threshold: float) -> Any:
    """The bot sells when P(up) falls to 1 - threshold."""
    return p_up <= 1.0 - threshold


def signal_action(p_up: float, threshold: float) -> str:
    """BUY, SELL or HOLD for one probability."""
    return "BUY" if is_buy(p_up, threshold) else "SELL" if is_sell(p_up, threshold) else "HOLD"


def threshold_of(manifest: dict[str, Any]) -> float:
    """The confidence threshold a published model acts at (older manifests without one: the default)."""
    return float(manifest.get("confidence_threshold", DEFAULT_CONFIDENCE_THRESHOLD))


def auc_band(auc: float | None, floor: float | None, target: float | None) -> str | None:
    """Where an AUC sits against a floor and a target: 'success', 'warning' or 'below floor' (a NaN AUC, from
    a slice with one class only, is below the floor); None when the AUC or a threshold is unknown."""
    if auc is None or floor is None or target is None:
        return None
    if not auc >= floor:
        return "below floor"
    return "warning" if auc < target else "success"


def rounded(value: float | None, places: int = 6) -> float | None:
    """A number as records and JSON keep it (None stays None)."""
    return None if value is None else round(float(value), places)


def sample_count(split: dict[str, int]) -> int | None:
    """Rows a model was trained and tested on (the dashboard's `sampleCount`, the history's `sample_count`):
    fit + validation + test of its split, the embargo gaps left out; None when the split is unknown."""
    return sum(split.get(name) or 0 for name in ("fit", "validation", "test")) or None
