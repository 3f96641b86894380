"""Bar times as files write them: pick one explicit format per file, never guess row by row.

A file is read with the single format that parses most of its values (first and last rows sampled), so
'03.04.2024' means the same day on every row, and a value that does not fit is reported with its row
instead of being silently read as another date. Day-first wins a tie with month-first (MT4/Dukascopy
style); year-first formats are tried before both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from autotrainer.errors import DataError

# strftime formats, most specific first within each family.
TEXT_FORMATS = [
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M:%S.%f", "%Y.%m.%d %H:%M", "%Y.%m.%d",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
    "%Y%m%d %H%M%S", "%Y%m%d %H:%M:%S", "%Y%m%d %H:%M", "%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d",
    "%d.%m.%Y %H:%M:%S.%f", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
]
EXAMPLES = "2024.03.20 06:30:00, 2024-03-20T06:30, 20.03.2024 06:30:00.000, 20240320 063000 or epoch seconds"
_ZONE_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_DIGITS = re.compile(r"^\d+(\.\d+)?$")
SAMPLE_ROWS = 200
EPOCH_SECONDS = (1e8, 1e11)  # 1973 .. 5138: plausible bar times in seconds
EPOCH_MILLISECONDS = (1e11, 1e14)


@dataclass
class ParsedTimes:
    """Parsed times (naive wall time, or UTC when the values carry a zone) and the format used."""

    times: pd.Series
    description: str
    carries_zone: bool = False


def parse_time_column(values: pd.Series, origin: str, column: str) -> ParsedTimes:
    """Parse text or numeric bar times; DataError naming the row and value that does not fit."""
    if pd.api.types.is_datetime64_any_dtype(values):
        aware = getattr(values.dt, "tz", None) is not None
        return ParsedTimes(values, "timestamps" + (" with a time zone" if aware else ""), aware)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _epoch(values.astype("float64"), origin, column)
    text = values.astype("string").str.strip()
    present = text[text.notna() & (text != "")]
    if present.empty:
        raise DataError(f"{origin}: column '{column}' has no time values")
    sample = pd.concat([present.iloc[:SAMPLE_ROWS], present.iloc[-SAMPLE_ROWS:]])
    if sample.str.match(_DIGITS).all() and not sample.str.len().isin([8, 12, 14]).all():
        return _epoch(pd.to_numeric(text, errors="coerce"), origin, column, text)
    if sample.str.contains(_ZONE_SUFFIX).all():
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        return _checked(ParsedTimes(parsed, "ISO 8601 with a UTC offset", True), text, origin, column)
    scores = {fmt: int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()) for fmt in TEXT_FORMATS}
    best = max(scores, key=lambda fmt: scores[fmt])  # max keeps the first of equal scores
    if scores[best] == 0:
        raise DataError(
            f"{origin}: column '{column}' holds times like {present.iloc[0]!r} in no format I know; expected e.g. {EXAMPLES}"
        )
    return _checked(ParsedTimes(pd.to_datetime(text, format=best, errors="coerce"), best), text, origin, column)


def _epoch(numbers: pd.Series, origin: str, column: str, text: pd.Series | None = None) -> ParsedTimes:
    """Epoch seconds or milliseconds, told apart by size; MT5 writes server wall time this way, not UTC."""
    typical = numbers.dropna().median()
    if pd.isna(typical):
        raise DataError(f"{origin}: column '{column}' has no time values")
    for (low, high), unit, name in ((EPOCH_SECONDS, "s", "epoch seconds"), (EPOCH_MILLISECONDS, "ms", "epoch milliseconds")):
        if low <= typical < high:
            in_range = numbers.where((numbers >= low) & (numbers < high))
            parsed = pd.to_datetime(in_range, unit=unit, errors="coerce")
            raw = text if text is not None else numbers.astype("string")
            return _checked(ParsedTimes(parsed, name), raw, origin, column)
    raise DataError(
        f"{origin}: column '{column}' holds numbers like {typical:.0f}, which are neither epoch seconds nor "
        f"milliseconds of a plausible date; expected e.g. {EXAMPLES}"
    )


def _checked(parsed: ParsedTimes, raw: pd.Series, origin: str, column: str) -> ParsedTimes:
    failed = parsed.times.isna().to_numpy()
    if failed.any():
        position = int(failed.argmax())
        value = raw.iloc[position]
        what = "is missing" if pd.isna(value) or value == "" else f"{value!r} does not match the file's format ({parsed.description})"
        raise DataError(f"{origin} row {int(raw.index[position]) + 1}: time {what}")
    return parsed
