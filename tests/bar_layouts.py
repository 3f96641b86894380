"""Writers for every bar-file layout the tool reads, fed with the same real bars.

Each writer takes validated UTC bars (the bundled sample) and returns the file's bytes exactly as the
tool that makes that layout would write them: MT5's "Export Bars", MQL export scripts (ANSI and
Unicode), MT4/HistData headerless rows, Dukascopy, generic CSV and Parquet.
"""

from __future__ import annotations

import gzip
import io
import zipfile
from dataclasses import dataclass
from typing import Callable

import pandas as pd

SERVER_CLOCK = "Europe/Athens"  # the sample's broker clock
PRICES = ["open", "high", "low", "close"]


@dataclass(frozen=True)
class Layout:
    """A file layout: its writer, file suffix, and which optional columns it carries."""

    write: Callable[[pd.DataFrame], bytes]
    suffix: str
    columns: tuple[str, ...]  # optional columns kept: tick_volume, spread, real_volume
    layout_words: str  # something the tool's layout note must say


def server_wall_time(frame: pd.DataFrame) -> pd.Series:
    return frame["time"].dt.tz_convert(SERVER_CLOCK).dt.tz_localize(None)


def _text(frame: pd.DataFrame, columns: list[tuple[str, str]], sep: str, header: bool = True,
          decimal: str = ".", newline: str = "\n") -> str:
    """Rows of `frame` as text: `columns` is (header name, bar column or derived '#date'/'#clock'/...)."""
    cells = {}
    wall = server_wall_time(frame)
    derived = {"#date": wall.dt.strftime("%Y.%m.%d"), "#clock": wall.dt.strftime("%H:%M:%S"),
               "#clock_hm": wall.dt.strftime("%H:%M"), "#dotted": wall.dt.strftime("%Y.%m.%d %H:%M:%S"),
               "#iso": wall.dt.strftime("%Y-%m-%d %H:%M"), "#epoch": (wall - pd.Timestamp(0)) // pd.Timedelta(seconds=1),
               "#histdata": wall.dt.strftime("%Y%m%d %H%M%S"),
               "#dukascopy": frame["time"].dt.strftime("%d.%m.%Y %H:%M:%S.000")}
    for name, source in columns:
        if source in derived:
            cells[name] = derived[source].astype(str)
        elif source in PRICES:
            cells[name] = frame[source].map(repr).str.replace(".", decimal, regex=False)
        else:
            cells[name] = frame[source].astype("int64").astype(str)
    table = pd.DataFrame(cells)
    lines = ([sep.join(table.columns)] if header else []) + [sep.join(row) for row in table.to_numpy()]
    return newline.join(lines) + newline


MT5_EXPORT = [("<DATE>", "#date"), ("<TIME>", "#clock"), ("<OPEN>", "open"), ("<HIGH>", "high"), ("<LOW>", "low"),
              ("<CLOSE>", "close"), ("<TICKVOL>", "tick_volume"), ("<VOL>", "real_volume"), ("<SPREAD>", "spread")]
MQL_SCRIPT = [("DateTime", "#dotted"), ("Open", "open"), ("High", "high"), ("Low", "low"), ("Close", "close"),
              ("TickVolume", "tick_volume"), ("Spread", "spread")]
ALL = ("tick_volume", "spread", "real_volume")


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _zip(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


LAYOUTS: dict[str, Layout] = {
    # MT5 History Center > Symbols > Bars > Export Bars: tab-separated, <DATE> <TIME>, Unicode, CRLF.
    "mt5_export_utf16": Layout(lambda f: b"\xff\xfe" + _text(f, MT5_EXPORT, "\t", newline="\r\n").encode("utf-16-le"),
                               ".csv", ALL, "MetaTrader 5 'Export Bars' file (UTF-16, tab"),
    "mt5_export_utf8": Layout(lambda f: _text(f, MT5_EXPORT, "\t").encode(), ".csv", ALL, "Export Bars"),
    # An MQL script with FileOpen(..., FILE_CSV|FILE_ANSI, ','): the example.
    "mql_script_csv": Layout(lambda f: _text(f, MQL_SCRIPT, ",").encode(), ".csv", ("tick_volume", "spread"),
                             "comma-separated"),
    # The same script without FILE_ANSI writes UTF-16 with a BOM; tab as delimiter.
    "mql_script_unicode_tab": Layout(lambda f: _text(f, MQL_SCRIPT, "\t").encode("utf-16"), ".txt",
                                     ("tick_volume", "spread"), "UTF-16, tab"),
    "semicolon_iso_lowercase": Layout(
        lambda f: _text(f, [("time", "#iso"), *[(c, c) for c in PRICES], ("tick_volume", "tick_volume"),
                            ("spread", "spread"), ("real_volume", "real_volume")], ";").encode(),
        ".csv", ALL, "semicolon-separated"),
    "semicolon_decimal_comma_excel": Layout(
        lambda f: _text(f, [("DATE", "#date"), ("TIME", "#clock_hm"), *[(c.upper(), c) for c in PRICES],
                            ("VOLUME", "tick_volume")], ";", decimal=",", newline="\r\n").encode("cp1252"),
        ".csv", ("tick_volume",), "decimal comma"),
    "epoch_seconds_tab": Layout(
        lambda f: _text(f, [("time", "#epoch"), *[(c, c) for c in PRICES], ("tick_volume", "tick_volume"),
                            ("spread", "spread"), ("real_volume", "real_volume")], "\t").encode(),
        ".tsv", ALL, "epoch seconds"),
    # MT4 History Center / HistData "MT" export: no header, date and time in two fields.
    "headerless_mt4": Layout(
        lambda f: _text(f, [("d", "#date"), ("t", "#clock_hm"), *[(c, c) for c in PRICES], ("v", "tick_volume")],
                        ",", header=False).encode(),
        ".csv", ("tick_volume",), "no header"),
    "headerless_histdata_ascii": Layout(
        lambda f: _text(f, [("dt", "#histdata"), *[(c, c) for c in PRICES], ("v", "tick_volume")], ";",
                        header=False).encode(),
        ".csv", ("tick_volume",), "%Y%m%d %H%M%S"),
    # Dukascopy: day-first dates with milliseconds, in GMT whatever the broker's clock.
    "dukascopy_gmt": Layout(
        lambda f: _text(f, [("Gmt time", "#dukascopy"), *[(c.capitalize(), c) for c in PRICES],
                            ("Volume", "tick_volume")], ",").encode(),
        ".csv", ("tick_volume",), "times in UTC"),
    "generic_csv_gzip": Layout(
        lambda f: gzip.compress(f.assign(time=server_wall_time(f)).to_csv(index=False).encode()),
        ".csv.gz", ALL, "gzip"),
    "mt5_export_zip": Layout(lambda f: _zip("XAUUSD_M15.csv", _text(f, MT5_EXPORT, "\t").encode()), ".zip", ALL,
                             "zip member"),
    "parquet_server_time": Layout(lambda f: _parquet(f.assign(time=server_wall_time(f))), ".parquet", ALL, "Parquet"),
    "parquet_utc_aware": Layout(lambda f: _parquet(f), ".parquet", ALL, "with a time zone"),
    "parquet_epoch_seconds": Layout(
        lambda f: _parquet(f.assign(time=(server_wall_time(f) - pd.Timestamp(0)) // pd.Timedelta(seconds=1))),
        ".parquet", ALL, "epoch seconds"),
    "parquet_time_index": Layout(lambda f: _parquet(f.set_index("time")), ".parquet", ALL, "Parquet"),
}


def expected_bars(frame: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """What reading `layout` must give back: the same bars, absent optional columns as zeros."""
    out = frame.reset_index(drop=True).copy()
    for col in ALL:
        if col not in layout.columns:
            out[col] = 0.0
    return out
