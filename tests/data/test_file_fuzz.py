"""Real bar files corrupted at random end in the tool's own DataError or a clean parse, never anything else.

Hypothesis takes 600 real bars in every supported layout and damages them the way files get damaged:
truncated lines and files, swapped columns, junk values, dropped/duplicated/shuffled lines, other line
endings and encodings, BOMs, stray bytes, an empty file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Callable

import pandas as pd
from bar_layouts import LAYOUTS
from hypothesis import HealthCheck, given, settings, strategies as st
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings, load_settings
from autotrainer.data.bars import PRICE_COLUMNS, VOLUME_COLUMNS
from autotrainer.data.sources import load_bars
from autotrainer.errors import DataError

BARS = 600  # includes two weekends, so the clock and gap checks run too
TEXT_CODECS = {"mt5_export_utf16": "utf-16", "mql_script_unicode_tab": "utf-16",
               "semicolon_decimal_comma_excel": "cp1252"}
BINARY = {name for name, layout in LAYOUTS.items() if layout.suffix in (".parquet", ".zip", ".csv.gz")}
BOMS = [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@cache
def real_files() -> dict[str, bytes]:
    frame = load_bars(load_settings(None, {"source": "sample"}, env={}), BARS).frame
    return {name: layout.write(frame) for name, layout in LAYOUTS.items()}


def _fields(line: str) -> tuple[str, list[str]]:
    sep = next((s for s in ("\t", ";", ",") if s in line), ",")
    return sep, line.split(sep)


@st.composite
def damaged_lines(draw: st.DrawFn, lines: list[str]) -> list[str]:
    for _ in range(draw(st.integers(0, 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        sep, fields = _fields(lines[i])
        j, k = draw(st.integers(0, len(fields) - 1)), draw(st.integers(0, len(fields) - 1))
        action = draw(st.sampled_from(["truncate", "swap", "junk", "drop", "duplicate", "shuffle", "junk_line"]))
        if action == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif action == "swap":
            fields[j], fields[k] = fields[k], fields[j]
            lines[i] = sep.join(fields)
        elif action == "junk":
            fields[j] = draw(st.text(max_size=12))
            lines[i] = sep.join(fields)
        elif action == "drop":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "shuffle":
            window = lines[i:i + 20]
            lines[i:i + 20] = draw(st.permutations(window))
        else:
            lines.insert(i, draw(st.text(max_size=40)))
    return lines


@st.composite
def damaged_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(LAYOUTS)))
    data = real_files()[name]
    if name not in BINARY:
        lines = draw(damaged_lines(data.decode(TEXT_CODECS.get(name, "utf-8")).splitlines()))
        text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines)
        data = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"])), errors="replace")
    for _ in range(draw(st.integers(0, 2))):
        action = draw(st.sampled_from(["cut", "bytes", "bom"]))
        at = draw(st.integers(min(1, len(data)), len(data)))
        if action == "cut":
            data = data[:at]
        elif action == "bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        else:
            data = draw(st.sampled_from(BOMS)) + data
    if draw(st.sampled_from(["keep"] * 30 + ["empty"])) == "empty":
        data = b""  # the empty file
    return name, data


def check_parsed(frame: pd.DataFrame) -> None:
    """What every successful parse guarantees, however damaged the file was."""
    times = frame["time"]
    assert str(times.dt.tz) == "UTC" and times.is_monotonic_increasing and times.is_unique
    assert (frame[PRICE_COLUMNS] > 0).all().all() and (frame[VOLUME_COLUMNS] >= 0).all().all()
    assert (frame["high"] >= frame[["open", "close", "low"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


@settings(FUZZ, max_examples=400)
@given(case=damaged_files())
def test_damaged_files_end_in_a_data_error_or_a_clean_parse(case: tuple[str, bytes], tmp_path: Path,
                                                           make_settings: Callable[..., Settings]) -> None:
    name, data = case
    path = tmp_path / f"damaged{LAYOUTS[name].suffix}"
    path.write_bytes(data)
    try:
        bars = load_bars(make_settings(source=str(path)), BARS)
    except DataError as error:
        assert error.exit_code == 2 and str(path) in str(error)
        return
    check_parsed(bars.frame)


@settings(FUZZ, max_examples=60)
@given(case=damaged_files())
def test_the_command_line_never_shows_a_traceback(case: tuple[str, bytes], tmp_path: Path) -> None:
    name, data = case
    path = tmp_path / f"damaged{LAYOUTS[name].suffix}"
    path.write_bytes(data)
    result = CliRunner().invoke(app, ["bars", "--source", str(path), "--bars", str(BARS),
                                      "--now", "2026-02-11T02:00:00+00:00"], env={"AUTOTRAINER_MIN_BARS": "550"})
    assert result.exit_code in (0, 2, 4), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.output.startswith("error: ") and str(path) in result.output
    if result.exit_code == 4:
        assert "too few bars to train" in result.output
