"""What a trade costs in price: the point size that turns the spread column (in points) into price, and
where it came from, so a reported edge after costs says which spread and point it used.

The point comes from the `point` setting when set, else from MetaTrader 5's `symbol_info().point` for that
source, else from the prices' decimals (a file of 2-decimal prices has a point of 0.01). Bars without a
spread (no column, which validation fills with zeros, or zeros on every bar) are charged
`default_spread_points`, and the record says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pandas as pd

MAX_DECIMALS = 8
POINT_FROM_SETTING = "setting 'point'"
POINT_FROM_MT5 = "MetaTrader 5 symbol_info().point"
SPREAD_FROM_BARS = "the bars' spread column"


@dataclass(frozen=True)
class Costs:
    """The point size and the spread a run charges each signal, and where each came from."""

    point: float
    point_source: str
    spread_source: str
    default_spread_points: float | None  # the points charged per bar when the bars have no spread, else None

    def spread_points(self, frame: pd.DataFrame) -> np.ndarray:
        """Each bar's spread in points: the bars' own, or the default when they have none."""
        if self.default_spread_points is None:
            return frame["spread"].to_numpy(dtype="float64")
        return np.full(len(frame), self.default_spread_points)

    def to_json(self) -> dict[str, object]:
        """Where the point and spread came from (the point itself is the edge's `edge_point`)."""
        return {"edge_point_source": self.point_source, "edge_spread_source": self.spread_source}


def price_decimals(close: np.ndarray) -> int:
    """The fewest decimals that write every price exactly (to float noise); MAX_DECIMALS at most."""
    prices = np.asarray(close, dtype="float64")
    for decimals in range(MAX_DECIMALS + 1):
        scaled = prices * 10.0 ** decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled)) + 1e-9):
            return decimals
    return MAX_DECIMALS


def mt5_point(mt5: ModuleType, symbol: str) -> float | None:
    """`symbol_info(symbol).point` from a connected terminal; None when it does not answer or gives no point."""
    info = mt5.symbol_info(symbol)
    point = getattr(info, "point", None) if info is not None else None
    return float(point) if point and point > 0 else None


def bar_costs(frame: pd.DataFrame, point_setting: float, default_spread_points: float,
              symbol_point: float | None = None) -> Costs:
    """The point (setting > MetaTrader 5's symbol point > the prices' decimals) and the spread source."""
    if point_setting > 0:
        point, point_source = point_setting, POINT_FROM_SETTING
    elif symbol_point is not None:
        point, point_source = symbol_point, POINT_FROM_MT5
    else:
        decimals = price_decimals(frame["close"].to_numpy())
        point, point_source = 10.0 ** -decimals, f"the prices' decimals ({decimals})"
    if "spread" in frame and (frame["spread"].to_numpy() > 0).any():
        return Costs(point, point_source, SPREAD_FROM_BARS, None)
    return Costs(point, point_source, f"setting 'default_spread_points' ({default_spread_points:g}): the bars have "
                 "no spread column, or only zeros in it", default_spread_points)
