"""Every file layout operators have, written from the same real bars, reads back as exactly those bars;
a file that cannot be read says what was found and what was expected."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from bar_layouts import LAYOUTS, MQL_SCRIPT, MT5_EXPORT, _text, expected_bars

from autotrainer.config import Settings
from autotrainer.data.sources import load_bars
from autotrainer.errors import DataError

BARS = 2000


@pytest.fixture(scope="module")
def real_bars(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return sample_frame.iloc[-BARS:].reset_index(drop=True)


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_layout_reads_back_identical_bars(name: str, real_bars: pd.DataFrame, tmp_path: Path,
                                                make_settings: Callable[..., Settings]) -> None:
    layout = LAYOUTS[name]
    path = tmp_path / f"bars{layout.suffix}"
    path.write_bytes(layout.write(real_bars))
    bars = load_bars(make_settings(source=str(path)), BARS)
    pd.testing.assert_frame_equal(bars.frame, expected_bars(real_bars, layout))
    assert layout.layout_words in bars.notes[0]
    assert bars.warnings == []


def test_mt5_export_with_daily_bars_has_no_time_column(sample_frame: pd.DataFrame, tmp_path: Path,
                                                       make_settings: Callable[..., Settings]) -> None:
    """MT5 exports D1 bars as <DATE> only; the bar is the server day starting at midnight."""
    server = sample_frame.assign(day=sample_frame["time"].dt.tz_convert("Europe/Athens").dt.tz_localize(None).dt.floor("D"))
    daily = server.groupby("day").agg(open=("open", "first"), high=("high", "max"), low=("low", "min"),
                                      close=("close", "last"), tick_volume=("tick_volume", "sum"),
                                      spread=("spread", "max"), real_volume=("real_volume", "sum")).reset_index()
    lines = ["<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>"] + [
        f"{r.day:%Y.%m.%d}\t{r.open!r}\t{r.high!r}\t{r.low!r}\t{r.close!r}\t{int(r.tick_volume)}\t0\t{int(r.spread)}"
        for r in daily.itertuples()]
    path = tmp_path / "XAUUSD_D1_202506240000_202602110000.csv"
    path.write_text("\n".join(lines) + "\n")
    bars = load_bars(make_settings(source=str(path), timeframe="D1"), 500)
    assert len(bars.frame) == len(daily)
    assert (bars.frame["close"].to_numpy() == daily["close"].to_numpy()).all()
    # Midnight in Athens is 21:00 or 22:00 UTC the evening before.
    assert set(bars.frame["time"].dt.hour) == {21, 22}
    assert "server clock not checked" in " ".join(bars.notes)


def _mql_csv(frame: pd.DataFrame) -> str:
    return _text(frame, MQL_SCRIPT, ",")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (lambda f: _mql_csv(f).replace(_mql_csv(f).splitlines()[57].split(",")[0], "2024.13.45 06:30:00", 1),
         r"bad\.csv row 57: time '2024\.13\.45 06:30:00' does not match the file's format \(%Y\.%m\.%d %H:%M:%S\)"),
        (lambda f: "time,open,high,low,close\n" + "yesterday,1,2,0.5,1.5\n" * 10,
         r"column 'time' holds times like 'yesterday' in no format I know; expected e\.g\. 2024\.03\.20 06:30:00"),
        (lambda f: "Date,Time,Open,High,Low,Volume\n2024.03.20,06:30,1,2,0.5,10\n",
         r"missing column\(s\) close; found columns Date, Time, Open, High, Low, Volume; expected a time column"),
        (lambda f: "time,bid,ask,volume\n2024.03.20 06:30:00,1.1,1.2,3\n",
         r"missing column\(s\) open, high, low, close \(this looks like tick data; export bars instead\)"),
        (lambda f: "prices\n1\n2\n3\n", r"cannot tell how the columns are separated \(first line: 'prices'\)"),
        (lambda f: "", r"contains no bars \(the file is empty\)"),
        (lambda f: "\r\n  \r\n", r"contains no bars \(the file is empty\)"),
        (lambda f: _mql_csv(f).replace("\n", ",99\n", 80).replace(",99\n", "\n", 79),
         r"bad\.csv row 79 \(time \d{4}-\d\d-\d\d \d\d:\d\d UTC\): 8 fields, but the header has 7$"),
        (lambda f: "time,open,high,low,close\n" + "\n".join(f"{i},1,2,0.5,1.5" for i in range(5)) + "\n",
         r"holds numbers like 2, which are neither epoch seconds nor milliseconds of a plausible date"),
    ],
    ids=["bad-time-value", "unknown-time-format", "missing-close", "tick-data", "no-delimiter", "empty",
         "blank-lines-only", "ragged-row", "small-numbers-as-time"],
)
def test_unreadable_files_say_what_was_found_and_expected(content, message: str, real_bars: pd.DataFrame,
                                                          tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content(real_bars))
    with pytest.raises(DataError, match=message) as err:
        load_bars(make_settings(source=str(path)), BARS)
    assert str(path) in str(err.value) and err.value.exit_code == 2


def test_containers_that_are_not_bar_files_are_refused(tmp_path: Path, make_settings: Callable[..., Settings]) -> None:
    workbook = tmp_path / "bars.xlsx"
    workbook.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DataError, match=r"Excel workbooks are not read; save the sheet as CSV"):
        load_bars(make_settings(source=str(workbook)), BARS)
    archive = tmp_path / "two.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.csv", "x")
        z.writestr("b.csv", "y")
    with pytest.raises(DataError, match=r"a zip file must hold exactly one bar file; it holds 2: \['a.csv', 'b.csv'\]"):
        load_bars(make_settings(source=str(archive)), BARS)
    broken = tmp_path / "bars.parquet"
    broken.write_bytes(b"PAR1 truncated")
    with pytest.raises(DataError, match=r"bars\.parquet: cannot be read as a bar file"):
        load_bars(make_settings(source=str(broken)), BARS)
    with pytest.raises(DataError, match=r"source file .*missing\.csv does not exist"):
        load_bars(make_settings(source=str(tmp_path / "missing.csv")), BARS)


def test_empty_rows_are_skipped_with_a_warning(real_bars: pd.DataFrame, tmp_path: Path,
                                               make_settings: Callable[..., Settings]) -> None:
    lines = _mql_csv(real_bars).splitlines()
    lines[300:300] = [",,,,,,", ",,,,,,"]
    path = tmp_path / "excel.csv"
    path.write_text("\n".join(lines) + "\n")
    bars = load_bars(make_settings(source=str(path)), BARS)
    pd.testing.assert_frame_equal(bars.frame, expected_bars(real_bars, LAYOUTS["mql_script_csv"]))
    assert bars.warnings == [f"{path}: skipped 2 empty row(s)"]


def test_export_file_name_of_another_symbol_is_refused(real_bars: pd.DataFrame, tmp_path: Path,
                                                       make_settings: Callable[..., Settings]) -> None:
    content = _text(real_bars, MT5_EXPORT, "\t")
    other = tmp_path / "EURUSD_M15_202601120530_202602110145.csv"
    other.write_text(content)
    with pytest.raises(DataError, match=r"the file name says EURUSD M15, but the settings ask for XAUUSD M15"):
        load_bars(make_settings(source=str(other)), BARS)
    ours = tmp_path / "XAUUSDm_M15_202601120530_202602110145.csv"
    ours.write_text(content)
    assert len(load_bars(make_settings(source=str(ours), symbol="XAUUSDm"), BARS).frame) == BARS


def test_day_first_dates_are_read_day_first_on_every_row(real_bars: pd.DataFrame, tmp_path: Path,
                                                         make_settings: Callable[..., Settings]) -> None:
    """'03.02.2026' must be 3 February on every row, never 2 March on some: one format per file."""
    wall = real_bars["time"].dt.tz_convert("Europe/Athens").dt.strftime("%d.%m.%Y %H:%M")
    table = real_bars.assign(time=wall)[["time", "open", "high", "low", "close"]]
    path = tmp_path / "dayfirst.csv"
    table.to_csv(path, index=False, sep=";")
    bars = load_bars(make_settings(source=str(path)), BARS)
    assert (bars.frame["time"] == real_bars["time"]).all()
    assert "times as %d.%m.%Y %H:%M" in bars.notes[0]
