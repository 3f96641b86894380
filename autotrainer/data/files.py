"""Bar files as operators have them, read without asking which layout they are in.

Handled: MT5 History Center "Export Bars" files (tab-separated, `<DATE> <TIME> <OPEN> ...`), CSV from MQL
export scripts (any header case; comma, tab, semicolon or `|`; decimal commas; dotted, ISO, day-first or
epoch-second times; separate date and time columns; with or without spread and real volume), headerless
MT4/HistData-style rows, generic CSV and Parquet (with the `parquet` extra) with a time column; UTF-8
(with or without BOM), UTF-16 (what MQL's FILE_CSV writes by default) and Windows-1252; `.gz` and single-file
`.zip`. Everything that cannot be read becomes a DataError saying what was found and what was expected.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from autotrainer.data.time_formats import parse_time_column
from autotrainer.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
DELIMITERS = {"\t": "tab", ";": "semicolon", ",": "comma", "|": "pipe"}
SNIFF_LINES = 6
# Widest row read. Bar files have 5-9 columns (a few more with extras); pandas' parser slows down with the
# square of the width, so a file thousands of columns wide is refused before it is parsed.
MAX_COLUMNS = 256
# Normalised header name (lower case, letters and digits only) -> bar column.
PRICE_NAMES = {"open": "open", "high": "high", "low": "low", "close": "close"}
DATETIME_NAMES = ("datetime", "timestamp", "gmttime", "utctime", "timeutc", "timegmt", "localtime", "opentime",
                  "bartime", "dt", "time", "date")
TICK_VOLUME_NAMES = ("tickvol", "tickvolume", "ticks", "tickcount")
REAL_VOLUME_NAMES = ("realvolume", "realvol")
GENERIC_VOLUME_NAMES = ("volume", "vol")
KNOWN_NAMES = {*PRICE_NAMES, *DATETIME_NAMES, *TICK_VOLUME_NAMES, *REAL_VOLUME_NAMES, *GENERIC_VOLUME_NAMES, "spread"}
EXPECTED = ("a time column (time, datetime, timestamp, date + time, <DATE> + <TIME>, 'Gmt time') and "
            "open, high, low, close; optionally tick volume, spread, real volume")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_READ_ERRORS = (ValueError, OSError, UnicodeError, csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError,
                zipfile.BadZipFile, zlib.error, EOFError)


@dataclass(frozen=True)
class Ragged:
    """A data row (0-based, as the frame's index) with more fields than the header or first row."""

    row: int
    fields: int
    width: int
    has_header: bool

    def problem(self) -> str:
        return f"{self.fields} fields, but the {'header' if self.has_header else 'first row'} has {self.width}"


@dataclass
class RawBars:
    """Bars as read: parsed times (naive server time unless `times_in_utc`) and price/volume text or numbers."""

    frame: pd.DataFrame
    layout: str
    times_in_utc: bool
    warnings: list[str] = field(default_factory=list)
    ragged: Ragged | None = None  # the file is refused once its times are in UTC, so the error can show it


def read_bar_file(path: Path) -> RawBars:
    """Read any supported bar file; the frame's index is the 0-based bar row of the file."""
    origin = str(path)
    if not path.is_file():
        raise DataError(f"source file {path} does not exist")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".xlsx", ".xls", ".xlsm"):
        raise DataError(f"{origin}: Excel workbooks are not read; save the sheet as CSV (File > Save As > CSV)")
    try:
        if suffixes and suffixes[-1] in PARQUET_SUFFIXES:
            return _from_parquet(_read_parquet(path, origin), origin)
        data, container = _unpack(path, suffixes, origin)
        return _from_text(data, container, origin)
    except _READ_ERRORS as exc:
        raise DataError(f"{origin}: cannot be read as a bar file: {exc}") from None


def _unpack(path: Path, suffixes: list[str], origin: str) -> tuple[bytes, str]:
    if suffixes and suffixes[-1] == ".gz":
        return gzip.decompress(path.read_bytes()), "gzip, "
    if suffixes and suffixes[-1] == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DataError(f"{origin}: a zip file must hold exactly one bar file; it holds {len(members)}: {members[:5]}")
            return archive.read(members[0]), f"zip member {members[0]}, "
    return path.read_bytes(), ""


def _decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding's name: BOMs first, then NUL bytes (UTF-16 without BOM), UTF-8, Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace"), "UTF-16"
    head = data[:4000]
    if head.count(b"\x00") * 4 > len(head):
        little = head[1::2].count(b"\x00") > head[0::2].count(b"\x00")
        return data.decode("utf-16-le" if little else "utf-16-be", errors="replace"), "UTF-16 without BOM"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "Windows-1252"


def _from_text(data: bytes, container: str, origin: str) -> RawBars:
    text, encoding = _decode(data)
    frame, sep, has_header, ragged = _table(text, origin)
    warnings = []
    empty = frame.isna().all(axis=1)
    if empty.any():
        warnings.append(f"{origin}: skipped {int(empty.sum())} empty row(s)")
        frame = frame[~empty.to_numpy()]
    if frame.empty:
        raise DataError(f"{origin}: contains no bars (only a header line)")
    if has_header:
        columns, header_note = _columns_by_name(frame, origin), "header " + " ".join(map(str, frame.columns))
    else:
        frame = frame.set_axis([f"field {i + 1}" for i in range(frame.shape[1])], axis=1)
        columns, header_note = _columns_by_position(frame, origin)
    raw, time_name, times_in_utc = _assemble(frame, columns)
    decimal_comma = sep != "," and _uses_decimal_comma(raw)
    if decimal_comma:
        for col in raw.columns.drop("time"):
            raw[col] = raw[col].str.replace(",", ".", regex=False)
    parsed = parse_time_column(raw["time"], origin, time_name)
    raw["time"] = parsed.times
    kind = "MetaTrader 5 'Export Bars' file" if str(frame.columns[0]).startswith("<") else "delimited text"
    layout = (f"{kind} ({container}{encoding}, {DELIMITERS.get(sep, 'whitespace')}-separated"
              f"{', decimal comma' if decimal_comma else ''}, {header_note}, times as {parsed.description})")
    return RawBars(raw, layout, times_in_utc or parsed.carries_zone, warnings, ragged)


def _table(text: str, origin: str) -> tuple[pd.DataFrame, str, bool, Ragged | None]:
    """All cells as text, the delimiter, whether the first row is a header (then used as column names), and
    the first row with more fields than the first row (cut to its width, reported after the times are read)."""
    lines = [line for line in text.splitlines() if line.strip()][:SNIFF_LINES]
    if not lines:
        raise DataError(f"{origin}: contains no bars (the file is empty)")
    sep = _delimiter(lines, origin)
    _check_width(lines, sep, origin)
    first = _split(lines[0], sep)
    has_header = any(_key(cell) in KNOWN_NAMES for cell in first) or not first[0].strip()[:1].isdigit()
    try:  # no header row for pandas: a row longer than the first is then an error
        frame = _parse(text, sep)
        ragged = None
    except pd.errors.ParserError as exc:
        text, ragged = _cut_long_rows(text, sep, len(first), has_header)
        if ragged is None:  # a quoted field, say: the simple split saw no longer row
            raise DataError(f"{origin}: rows do not all have the same columns ({' '.join(str(exc).split())})") from None
        frame = _parse(text, sep)
    return (_apply_header(frame) if has_header else frame), sep, has_header, ragged


def _parse(text: str, sep: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                       na_values=[""], skipinitialspace=True, engine="python" if len(sep) > 1 else "c")


def _cut_long_rows(text: str, sep: str, width: int, has_header: bool) -> tuple[str, Ragged | None]:
    """The text with rows longer than the first cut to its width, and the first such row (None if none).
    The row is reported once its time is known in UTC (`Ragged`), in the form every row error has."""
    kept, ragged, row = [], None, -1 if has_header else 0
    for line in text.splitlines():
        if line.strip():
            fields = _split(line, sep)
            if len(fields) > width:
                ragged = ragged or Ragged(row, len(fields), width, has_header)
                line = sep.join(fields[:width]) if len(sep) == 1 else " ".join(fields[:width])
            row += 1
        kept.append(line)
    return "\n".join(kept), ragged


def _check_width(lines: list[str], sep: str, origin: str) -> None:
    """Refuse a file far wider than any bar file before pandas parses it (its time grows with width squared)."""
    widest = max(len(_split(line, sep)) for line in lines)
    if widest > MAX_COLUMNS:
        raise DataError(f"{origin}: {widest} columns in its first lines, more than the {MAX_COLUMNS} a bar file "
                        f"may have; expected {EXPECTED}")


def _apply_header(frame: pd.DataFrame) -> pd.DataFrame:
    """First row as column names (the first of any repeated name wins); data rows numbered from 0."""
    names = frame.iloc[0].fillna("").astype(str).str.strip()
    body = frame.iloc[1:].set_axis(names, axis=1)
    body = body.loc[:, ~body.columns.duplicated()]
    return body.set_axis(body.index - 1, axis=0)


def _read_parquet(path: Path, origin: str) -> pd.DataFrame:
    """Parquet through pyarrow, an optional extra (170 MB) that only Parquet sources need."""
    try:
        import pyarrow
    except ImportError:
        raise DataError(f"{origin}: reading Parquet needs pyarrow, which is not installed; install it with "
                        'pip install "autotrainer[parquet]" (or pip install pyarrow), or export the bars as CSV'
                        ) from None
    import pyarrow.parquet

    try:
        width = len(pyarrow.parquet.read_schema(path).names)
        if width > MAX_COLUMNS:
            raise DataError(f"{origin}: {width} columns, more than the {MAX_COLUMNS} a bar file may have; "
                            f"expected {EXPECTED}")
        return pd.read_parquet(path, engine="pyarrow")
    except pyarrow.lib.ArrowException as exc:
        raise DataError(f"{origin}: cannot be read as a bar file: {exc}") from None


def _from_parquet(frame: pd.DataFrame, origin: str) -> RawBars:
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index()
    frame = frame.reset_index(drop=True)
    raw, time_name, times_in_utc = _assemble(frame, _columns_by_name(frame, origin))
    parsed = parse_time_column(raw["time"], origin, time_name)
    raw["time"] = parsed.times
    return RawBars(raw, f"Parquet (column '{time_name}' as {parsed.description})", times_in_utc or parsed.carries_zone)


def _delimiter(lines: list[str], origin: str) -> str:
    """The first of tab, semicolon, comma, pipe that splits every data line into the same 3+ fields."""
    data = lines[1:] or lines
    for sep in DELIMITERS:
        counts = {line.count(sep) for line in data}
        if len(counts) == 1 and counts.pop() >= 2:
            return sep
    if {len(line.split()) for line in data} and min(len(line.split()) for line in data) >= 5:
        return r"\s+"
    raise DataError(
        f"{origin}: cannot tell how the columns are separated (first line: {lines[0][:80]!r}); expected tab-, "
        f"comma-, semicolon- or pipe-separated rows with {EXPECTED}"
    )


def _split(line: str, sep: str) -> list[str]:
    return re.split(sep, line.strip()) if len(sep) > 1 else line.split(sep)


def _key(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _columns_by_name(frame: pd.DataFrame, origin: str) -> dict[str, str]:
    """Bar column -> file column, from the header names; 'date' + 'clock' when date and time are separate."""
    names = {}
    for col in frame.columns:
        names.setdefault(_key(col), col)
    found: dict[str, str] = {k: names[k] for k in PRICE_NAMES if k in names}
    if "date" in names and "time" in names:
        found["date"], found["clock"] = names["date"], names["time"]
    else:
        time_key = next((k for k in DATETIME_NAMES if k in names), None)
        if time_key is not None:
            found["time"] = names[time_key]
    tick = next((names[k] for k in TICK_VOLUME_NAMES if k in names), None)
    real = next((names[k] for k in REAL_VOLUME_NAMES if k in names), None)
    generic = next((names[k] for k in GENERIC_VOLUME_NAMES if k in names), None)
    tick, real = (tick or generic, real) if tick is None else (tick, real or generic)
    found.update({k: v for k, v in (("tick_volume", tick), ("real_volume", real), ("spread", names.get("spread"))) if v})
    missing = [k for k in ("time", *PRICE_NAMES) if k not in found and not (k == "time" and "date" in found)]
    if missing:
        hint = " (this looks like tick data; export bars instead)" if {"bid", "ask"} <= set(names) else ""
        raise DataError(
            f"{origin}: missing column(s) {', '.join(missing)}{hint}; found columns {', '.join(map(str, frame.columns))}; "
            f"expected {EXPECTED}"
        )
    return found


def _columns_by_position(frame: pd.DataFrame, origin: str) -> tuple[dict[str, str], str]:
    """Headerless rows: [date, clock | time], open, high, low, close, then tick volume; the rest is ignored."""
    first_row = ["" if pd.isna(cell) else str(cell) for cell in frame.iloc[0]] if len(frame) else []
    split_clock = len(first_row) > 1 and bool(_CLOCK.match(first_row[1].strip()))
    leading = ["date", "clock"] if split_clock else ["time"]
    order = [*leading, *PRICE_NAMES, "tick_volume"][: len(frame.columns)]
    if len(order) < len(leading) + 4:
        raise DataError(f"{origin}: rows have only {len(frame.columns)} fields and no header; expected {EXPECTED}")
    names = ", ".join("date, time" if c == "date" else c.replace("_", " ") for c in order if c != "clock")
    ignored = len(frame.columns) - len(order)
    note = f"no header: read as {names}" + (f", {ignored} more column(s) ignored" if ignored else "")
    return dict(zip(order, frame.columns)), note


def _assemble(frame: pd.DataFrame, columns: dict[str, str]) -> tuple[pd.DataFrame, str, bool]:
    """The raw bar frame, the time column's name for messages, and whether that name says UTC/GMT."""
    raw = pd.DataFrame(index=frame.index)
    if "date" in columns:
        raw["time"] = frame[columns["date"]].astype("string").str.strip() + " " + frame[columns["clock"]].astype("string").str.strip()
        time_name = f"{columns['date']} + {columns['clock']}"
    else:
        raw["time"], time_name = frame[columns["time"]], str(columns["time"])
    for col in ("open", "high", "low", "close", "tick_volume", "spread", "real_volume"):
        if col in columns:
            raw[col] = frame[columns[col]]
            if pd.api.types.is_string_dtype(raw[col]) or raw[col].dtype == object:
                raw[col] = raw[col].astype("string").str.strip()
    return raw, time_name, any(marker in _key(time_name) for marker in ("gmt", "utc"))


def _uses_decimal_comma(raw: pd.DataFrame) -> bool:
    sample = raw["close"].dropna().astype("string").iloc[:50]
    return bool(len(sample)) and bool(sample.str.match(_DECIMAL_COMMA).mean() > 0.5)
