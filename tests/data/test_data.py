"""Bars: the bundled sample, the file source, and validation that names file, row and problem."""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import REAL_BARS_SHA256, SHARED_DATA

from autotrainer.config import Settings
from autotrainer.data.bundled import SAMPLE_PATH
from autotrainer.data.sources import load_bars
from autotrainer.errors import DataError, InsufficientDataError


def test_bundled_sample_is_the_shared_real_data() -> None:
    bundled = gzip.decompress(SAMPLE_PATH.read_bytes())
    assert hashlib.sha256(bundled).hexdigest() == REAL_BARS_SHA256
    assert bundled == gzip.decompress(SHARED_DATA.read_bytes())


def test_sample_loads_newest_bars_in_utc(make_settings: Callable[..., Settings]) -> None:
    bars = load_bars(make_settings(), 8000)
    frame = bars.frame
    assert len(frame) == 8000 and bars.warnings == []
    assert list(frame.columns) == ["time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume"]
    assert str(frame["time"].dt.tz) == "UTC"
    # The file ends at 2026-02-11 03:45 server time = UTC+2 in February.
    assert frame["time"].iloc[-1] == pd.Timestamp("2026-02-11 01:45", tz="UTC")
    # A summer bar: 2025-06-24 07:00 server time = UTC+3.
    first = load_bars(make_settings(), 15000).frame["time"].iloc[0]
    assert first == pd.Timestamp("2025-06-24 04:00", tz="UTC")


def _write(frame: pd.DataFrame, path: Path) -> Path:
    out = frame.copy()
    out["time"] = out["time"].dt.tz_convert("Europe/Athens").dt.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path, index=False)
    return path


def test_csv_file_round_trips_the_sample(tmp_path: Path, sample_frame: pd.DataFrame,
                                        make_settings: Callable[..., Settings]) -> None:
    path = _write(sample_frame.iloc[-3000:], tmp_path / "bars.csv")
    loaded = load_bars(make_settings(source=str(path)), 3000).frame
    pd.testing.assert_frame_equal(loaded, sample_frame.iloc[-3000:].reset_index(drop=True))


def test_parquet_file_round_trips_the_sample(tmp_path: Path, sample_frame: pd.DataFrame,
                                            make_settings: Callable[..., Settings]) -> None:
    path = tmp_path / "bars.parquet"
    sample_frame.iloc[-2000:].to_parquet(path)
    loaded = load_bars(make_settings(source=str(path)), 2000).frame
    pd.testing.assert_frame_equal(loaded, sample_frame.iloc[-2000:].reset_index(drop=True))


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    path = tmp_path / "bars.parquet"
    sample_frame.iloc[-2000:].to_parquet(path)
    without_pyarrow = ("import sys; sys.modules['pyarrow'] = None  # an install without the parquet extra\n"
                       "from autotrainer.cli import main; sys.argv[0] = 'autotrainer'; main()")
    result = subprocess.run([sys.executable, "-c", without_pyarrow, "bars", "--source", str(path), "--allow-stale"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {path}: reading Parquet needs pyarrow, which is not installed" in result.stderr
    assert 'pip install "autotrainer[parquet]"' in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda f: f.assign(high=f["high"].where(f.index != 10, f["low"] - 1.0)), r"row 11 \(time .*\): high .* is below low"),
        (lambda f: f.assign(close=f["close"].where(f.index != 20, -5.0)), r"row 21 .*close = -5.0 is not positive"),
        (lambda f: f.assign(open=f["open"].where(f.index != 30, None)), r"row 31 .*open is missing"),
        (lambda f: f.assign(low=f["low"].astype(object).where(f.index != 40, "abc")), r"row 41 .*low is not a number \('abc'\)"),
        (lambda f: f.drop(columns=["close"]), r"missing column\(s\) close"),
        (lambda f: f.assign(open=f["open"].where(f.index != 50, f["high"] + 1.0)),
         r"row 51 .*: open .* / close .* outside the high-low range"),
        (lambda f: pd.concat([f.iloc[:50], f.iloc[[49]].assign(close=f["close"].iloc[49] + 0.5), f.iloc[50:]]),
         r"rows 50, 51: two bars at .* with different values"),
    ],
)
def test_bad_bars_are_rejected_with_file_and_row(tmp_path: Path, sample_frame: pd.DataFrame,
                                                 make_settings: Callable[..., Settings], corrupt, message: str) -> None:
    frame = corrupt(sample_frame.iloc[-1500:].reset_index(drop=True))
    path = _write(frame, tmp_path / "bad.csv")
    with pytest.raises(DataError, match=message) as err:
        load_bars(make_settings(source=str(path)), 1500)
    assert "bad.csv" in str(err.value) and err.value.exit_code == 2


def test_unsorted_and_exact_duplicates_are_repaired_with_warnings(tmp_path: Path, sample_frame: pd.DataFrame,
                                                                  make_settings: Callable[..., Settings]) -> None:
    frame = sample_frame.iloc[-1500:].reset_index(drop=True)
    messy = pd.concat([frame.iloc[700:], frame.iloc[:700], frame.iloc[[5, 6]]])
    bars = load_bars(make_settings(source=str(_write(messy, tmp_path / "messy.csv"))), 1500)
    pd.testing.assert_frame_equal(bars.frame, frame)
    assert any("not in time order" in w for w in bars.warnings)
    assert any("dropped 2 exact duplicate" in w for w in bars.warnings)


def test_timeframe_mismatch_names_both(tmp_path: Path, sample_frame: pd.DataFrame,
                                       make_settings: Callable[..., Settings]) -> None:
    path = _write(sample_frame.iloc[-1500:], tmp_path / "m15.csv")
    with pytest.raises(DataError, match=r"15 minutes apart, but the configured timeframe is H1 \(60 minutes\)"):
        load_bars(make_settings(source=str(path), timeframe="H1"), 1500)


def test_too_few_bars_is_insufficient_not_an_error(tmp_path: Path, sample_frame: pd.DataFrame,
                                                   make_settings: Callable[..., Settings]) -> None:
    from autotrainer.data.bars import require_enough

    bars = load_bars(make_settings(source=str(_write(sample_frame.iloc[-900:], tmp_path / "short.csv"))), 900)
    with pytest.raises(InsufficientDataError, match="only 900 bars, at least 1000 are needed") as err:
        require_enough(bars, 1000)
    assert err.value.exit_code == 4


@pytest.mark.parametrize(
    ("corrupt", "code", "expected"),
    [
        (lambda f: f.assign(high=f["high"].where(f.index != 10, f["low"] - 1.0)), 2, r"error: .*bad\.csv row 11 \(time "),
        (lambda f: f.assign(close=f["close"].astype(object).where(f.index != 7, "n/a")), 2,
         r"error: .*bad\.csv row 8 .*close is not a number \('n/a'\)"),
        (lambda f: pd.concat([f.iloc[:50], f.iloc[[49]].assign(tick_volume=99999.0), f.iloc[50:]]), 2,
         r"error: .*bad\.csv rows 50, 51: two bars at"),
        (lambda f: pd.concat([f.iloc[100:], f.iloc[:100], f.iloc[[3]]]), 0,
         r"WARNING .*rows were not in time order; sorted them\n.*WARNING .*dropped 1 exact duplicate row"),
    ],
    ids=["high-below-low", "junk-price", "conflicting-duplicate", "unsorted-and-duplicated"],
)
def test_cli_reports_each_problem_with_its_exit_code_and_no_traceback(
    corrupt, code: int, expected: str, tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
    from typer.testing import CliRunner

    from autotrainer.cli import app

    frame = corrupt(sample_frame.iloc[-1500:].reset_index(drop=True))
    path = _write(frame, tmp_path / "bad.csv")
    result = CliRunner().invoke(app, ["bars", "--source", str(path), "--now", "2026-02-11T02:00:00+00:00"])
    assert result.exit_code == code, result.output
    assert re.search(expected, result.output, re.S) and "Traceback" not in result.output
