"""The bar schema every source returns, and the validation every source's bars pass through.

Schema: time (UTC, tz-aware), open, high, low, close (float64), tick_volume, spread, real_volume (float64).
Validation rejects what cannot be trusted (with file, row and time in the message) and repairs only what
is unambiguous (row order, exact duplicate rows), reporting each repair as a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from autotrainer.errors import DataError, InsufficientDataError

PRICE_COLUMNS = ["open", "high", "low", "close"]
VOLUME_COLUMNS = ["tick_volume", "spread", "real_volume"]
BAR_COLUMNS = ["time", *PRICE_COLUMNS, *VOLUME_COLUMNS]


@dataclass
class Bars:
    """Validated bars plus what validation had to say about them.

    `warnings` go into the run record (repairs, gaps, stale data); `notes` are informational lines for the
    log (layout found, gap summary, server clock check); `server_clock` is the clock the times were read in.
    """

    frame: pd.DataFrame
    origin: str
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    server_clock: str = "UTC"
    symbol_point: float | None = None  # MetaTrader 5's symbol_info().point (the MT5 source only): prices a spread

    @property
    def start(self) -> pd.Timestamp:
        return self.frame["time"].iloc[0]

    @property
    def end(self) -> pd.Timestamp:
        return self.frame["time"].iloc[-1]


def _where(origin: str, frame: pd.DataFrame, position: int) -> str:
    """'file row N (time T)' for the row at `position`; row numbers are 1-based data rows of the source."""
    row = frame.index[position]
    time = frame["time"].iloc[position] if "time" in frame else None
    when = f" (time {time:%Y-%m-%d %H:%M} UTC)" if isinstance(time, pd.Timestamp) and not pd.isna(time) else ""
    return f"{origin} row {int(row) + 1}{when}"


def reject_row(frame: pd.DataFrame, origin: str, row: int, problem: str) -> None:
    """Raise the DataError for data row `row` (0-based, an index label of `frame`) in the usual row form."""
    raise DataError(f"{_where(origin, frame, frame.index.get_loc(row))}: {problem}")


def validate_bars(frame: pd.DataFrame, origin: str) -> Bars:
    """Check and normalise raw bars (time already UTC); raise DataError naming the first problem found.

    `frame.index` must be the 0-based data row number in the source, so messages can point at it.
    """
    missing = [c for c in ["time", *PRICE_COLUMNS] if c not in frame.columns]
    if missing:
        raise DataError(
            f"{origin}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}"
        )
    if frame.empty:
        raise DataError(f"{origin}: contains no bars")
    frame = frame.copy()
    for col in VOLUME_COLUMNS:
        if col not in frame.columns:
            frame[col] = 0.0
    bad_time = frame["time"].isna().to_numpy()
    if bad_time.any():
        raise DataError(f"{_where(origin, frame, int(bad_time.argmax()))}: time is missing or unparseable")
    for col in PRICE_COLUMNS + VOLUME_COLUMNS:
        raw = frame[col]
        numeric = pd.to_numeric(raw, errors="coerce").astype("float64")
        invalid = numeric.isna().to_numpy() | ~np.isfinite(numeric.to_numpy())
        if invalid.any():
            pos = int(invalid.argmax())
            value = raw.iloc[pos]
            what = "is missing" if pd.isna(value) else f"is not a number ({value!r})"
            raise DataError(f"{_where(origin, frame, pos)}: {col} {what}")
        frame[col] = numeric
    prices = frame[PRICE_COLUMNS].to_numpy()
    nonpositive = (prices <= 0).any(axis=1)
    if nonpositive.any():
        pos = int(nonpositive.argmax())
        col = PRICE_COLUMNS[int((prices[pos] <= 0).argmax())]
        raise DataError(f"{_where(origin, frame, pos)}: {col} = {prices[pos][PRICE_COLUMNS.index(col)]} is not positive")
    negative_volume = (frame[VOLUME_COLUMNS].to_numpy() < 0).any(axis=1)
    if negative_volume.any():
        raise DataError(f"{_where(origin, frame, int(negative_volume.argmax()))}: a volume or spread is negative")
    o, h, l, c = (frame[col].to_numpy() for col in PRICE_COLUMNS)
    inverted = h < l
    if inverted.any():
        pos = int(inverted.argmax())
        raise DataError(f"{_where(origin, frame, pos)}: high {h[pos]} is below low {l[pos]}")
    outside = (o > h) | (o < l) | (c > h) | (c < l)
    if outside.any():
        pos = int(outside.argmax())
        raise DataError(
            f"{_where(origin, frame, pos)}: open {o[pos]} / close {c[pos]} outside the high-low range [{l[pos]}, {h[pos]}]"
        )
    return _repair_order(frame[BAR_COLUMNS], origin)


def _repair_order(frame: pd.DataFrame, origin: str) -> Bars:
    warnings: list[str] = []
    if not frame["time"].is_monotonic_increasing:
        frame = frame.sort_values("time", kind="stable")
        warnings.append(f"{origin}: rows were not in time order; sorted them")
    duplicated_time = frame["time"].duplicated(keep=False).to_numpy()
    if duplicated_time.any():
        exact = frame.duplicated(keep="first")
        conflicting = frame[duplicated_time & ~frame.duplicated(keep=False).to_numpy()]
        if not conflicting.empty:
            first = conflicting.iloc[0]
            rows = frame.index[frame["time"] == first["time"]]
            raise DataError(
                f"{origin} rows {', '.join(str(int(r) + 1) for r in rows)}: two bars at "
                f"{first['time']:%Y-%m-%d %H:%M} UTC with different values"
            )
        warnings.append(f"{origin}: dropped {int(exact.sum())} exact duplicate row(s)")
        frame = frame[~exact.to_numpy()]
    return Bars(frame.reset_index(drop=True), origin, warnings)


def require_enough(bars: Bars, min_bars: int) -> None:
    """The seed's guard: fewer than `min_bars` bars and the run is skipped."""
    if len(bars.frame) < min_bars:
        raise InsufficientDataError(
            f"{bars.origin}: only {len(bars.frame)} bars, at least {min_bars} are needed (setting 'min_bars'); retrain skipped"
        )


# Share of bars whose close differs from the bar before's that a training window needs. Real XAUUSD M15
# bars move on 99.8% of bars; a window that mostly repeats one price is a frozen feed or a broken export,
# and fitting the regime model to it fails (singular covariance) or the audit sees leaks in constant features.
MIN_MOVING_SHARE = 0.5


def require_price_movement(bars: Bars) -> None:
    """DataError when fewer than MIN_MOVING_SHARE of the bars close at a new price: nothing to learn from."""
    close = bars.frame["close"].to_numpy()
    if len(close) < 2:
        return
    moved = int((np.diff(close) != 0).sum())
    if moved >= MIN_MOVING_SHARE * (len(close) - 1):
        return
    span = f"{bars.start:%Y-%m-%d %H:%M} to {bars.end:%Y-%m-%d %H:%M} UTC"
    raise DataError(
        f"{bars.origin}: no price movement to learn from: only {moved} of {len(close) - 1} bars ({span}) close at "
        f"a price other than the bar before's, and at least {MIN_MOVING_SHARE:.0%} must; a frozen feed or a "
        f"broken export?"
    )


def newest(bars: Bars, count: int) -> Bars:
    """The newest `count` bars (all of them when there are fewer)."""
    if len(bars.frame) <= count:
        return bars
    return replace(bars, frame=bars.frame.iloc[-count:].reset_index(drop=True), warnings=list(bars.warnings),
                   notes=list(bars.notes))


def fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the bars' values, so a run record says exactly which data trained the model."""
    import hashlib

    digest = hashlib.sha256()
    digest.update(frame["time"].dt.as_unit("ns").astype("int64").to_numpy().tobytes())
    digest.update(np.ascontiguousarray(frame[PRICE_COLUMNS + VOLUME_COLUMNS].to_numpy(dtype="float64")).tobytes())
    return digest.hexdigest()
