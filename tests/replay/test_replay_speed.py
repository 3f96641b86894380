"""The replay's speed-ups change nothing: runs trained ahead in a process pool give the same runs, outcomes and
published model bytes as training every run inline, lazy scoring in pieces gives the numbers scoring at once
gives, and the progress prints one short cp1252-safe line per run when it is not on a terminal."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_replay import END, FAST, START

from autotrainer.config import load_settings
from autotrainer.data.sources import read_bars
from autotrainer.models.inputs import feature_rows
from autotrainer.replay.pretrain import planned_runs
from autotrainer.replay.scoring import score_candidate
from autotrainer.replay.simulate import Progress, ReplayRun, run_replay
from autotrainer.replay.summary import summarise
from autotrainer.report.progress import replay_progress

RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def _runs(run: ReplayRun) -> list[tuple[Any, ...]]:
    """What each run did, without the random part of run ids, its wall-clock duration or its finishing time."""
    return [(t.record.started_at, t.record.training_type, t.record.trigger, t.record.status, t.published,
             t.record.test_auc, t.record.data_fingerprint, RUN_ID.sub("RUN", t.record.error_message or ""))
            for t in run.trained]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same window of the bundled bars replayed with every run inline, and with two pool workers; the
    inline one's progress lines kept."""
    root = tmp_path_factory.mktemp("speed")
    settings = load_settings(None, {**FAST, "models_dir": root / "m", "data_dir": root / "d"}, env={})
    lines: list[str] = []
    inline = run_replay(settings, root / "inline", START, END, workers=1,
                        progress=lambda p: lines.append(p.line) if p.line else None)
    return {"inline": inline, "pooled": run_replay(settings, root / "pooled", START, END, workers=2),
            "lines": lines}


def test_training_ahead_gives_the_same_runs_and_published_models(both: dict[str, Any]) -> None:
    inline, pooled = both["inline"], both["pooled"]
    assert inline.trained_ahead == 0
    assert pooled.trained_ahead >= 3  # the pool really trained the initial, daily and weekend runs
    assert _runs(pooled) == _runs(inline)
    kinds = {t.record.training_type for t in inline.trained}
    assert {"initial", "daily", "weekend", "emergency"} <= kinds  # scheduled runs from the pool, emergencies inline
    assert inline.holds == pooled.holds
    first, second = summarise(inline), summarise(pooled)
    assert len(first["published_models"]) >= 2
    assert first["published_models"] == second["published_models"]
    for a, b in zip(inline.trained, pooled.trained):
        if a.p_up is not None:
            np.testing.assert_array_equal(a.p_up, b.p_up)
            np.testing.assert_array_equal(a.regime, b.regime)


def test_the_plan_foresees_every_scheduled_run_that_trained(both: dict[str, Any]) -> None:
    run = both["inline"]
    first = datetime.fromisoformat(run.trained[0].record.started_at)
    planned = set(planned_runs(_ticks(run), run.settings))
    scheduled = [(datetime.fromisoformat(t.record.started_at), t.record.training_type) for t in run.trained
                 if t.record.training_type in ("daily", "weekend") and t.candidate is not None]
    assert scheduled and set(scheduled) <= planned
    assert (first, "initial") in planned


def test_lazy_scoring_in_pieces_equals_scoring_each_candidate_at_once(both: dict[str, Any]) -> None:
    run = both["inline"]
    settings = run.settings
    frame = read_bars(settings, 200_000).frame
    features = feature_rows(frame.iloc[:_usable(run, frame)], _spec(settings))
    checked = 0
    for trained in run.trained:
        if trained.p_up is None or trained.scored <= trained.first:
            continue
        whole = slice(trained.first, len(run.times))
        p_up, regime = score_candidate(features, trained.candidate, whole)
        rows = np.flatnonzero(~np.isnan(trained.p_up))
        assert rows[0] == trained.first and rows[-1] == trained.scored - 1  # contiguous from after its data
        np.testing.assert_array_equal(trained.p_up[rows], p_up[rows - trained.first])
        np.testing.assert_array_equal(trained.regime[rows], regime[rows - trained.first])
        checked += 1
    assert checked >= 5


def test_each_serving_finds_every_bar_it_covers_scored(both: dict[str, Any]) -> None:
    from autotrainer.replay.summary import scores, served

    for name in ("policy", "keep_first", "every_retrain"):
        serving = served(both["inline"], name)
        assert serving.covered.sum() > 0
        assert not np.isnan(scores(both["inline"], serving)[serving.covered]).any()


def test_progress_off_a_terminal_prints_one_short_cp1252_line_per_run(both: dict[str, Any]) -> None:
    lines = both["lines"]
    assert len(lines) == len(both["inline"].trained)
    for line in lines:
        assert len(line) < 100
        line.encode("cp1252")
    stream, run = io.StringIO(), both["inline"]
    with replay_progress(False, stream) as show:
        for done, line in enumerate(lines, 1):
            show(Progress(done, len(lines), run.start, line))
    printed = stream.getvalue().splitlines()
    assert all(len(p) < 100 for p in printed)
    assert sum(1 for p in printed if "eta" in p) >= len(lines)
    stream.getvalue().encode("cp1252")


def _ticks(run: ReplayRun) -> list[Any]:

    from autotrainer.replay.simulate import TICK

    first = pd.Timestamp(run.start).ceil("15min").to_pydatetime()
    return [first + i * TICK for i in range(run.ticks)]


def _usable(run: ReplayRun, frame: Any) -> int:
    from autotrainer.replay.simulate import moment_ns, utc_ns

    closes = utc_ns(frame["time"] + timedelta(minutes=run.settings.timeframe_minutes))
    return int(np.searchsorted(closes, moment_ns(run.end), side="right"))


def _spec(settings: Any) -> Any:
    from autotrainer.features.plugins import FeatureSpec

    return FeatureSpec.from_settings(settings)


def test_bench_builds_the_long_series_from_the_real_bars_only(tmp_path: Path) -> None:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    settings = load_settings(None, {"source": "sample"}, env={})
    real = read_bars(settings, 200_000).frame
    longer = bench.repeated_bars(real)
    assert len(longer) == 2 * len(real)
    np.testing.assert_array_equal(longer["close"].to_numpy()[: len(real)], real["close"].to_numpy())
    assert longer["time"].is_monotonic_increasing and longer["time"].is_unique
    second = longer.iloc[len(real):]
    starts = real["close"].iloc[0] / real["open"].iloc[0]
    assert second["close"].iloc[0] / real["close"].iloc[-1] == pytest.approx(starts, rel=1e-5)
    ratio = second["close"].to_numpy() / real["close"].to_numpy()
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)  # the same moves, scaled (prices rounded to the cent)
    # shifted on New York's clock: each weekly close stays at 17:00 there, so a broker clock still checks out
    starts = longer["time"]
    closes = (starts[(starts.shift(-1) - starts) >= pd.Timedelta(hours=40)] + pd.Timedelta(minutes=15))
    at_17 = closes.dt.tz_convert("America/New_York").dt.strftime("%H:%M") == "17:00"
    assert at_17.iloc[: len(at_17) // 2].sum() == at_17.iloc[len(at_17) // 2:].sum() > 0.9 * (len(at_17) // 2)


def test_a_retry_with_no_new_bar_reads_the_same_checked_bars(caplog: pytest.LogCaptureFixture) -> None:
    from autotrainer.data.sources import prepare_bars
    from autotrainer.replay.pretrain import ClosedBars

    settings = load_settings(None, {"source": "sample"}, env={})
    bars = read_bars(settings, 200_000)
    checked = ClosedBars(bars, settings)
    first = checked(9000, 8000)
    first.warnings.append("a run's own warning")  # a run extends its bars' warnings: the next must not see it
    caplog.clear()
    with caplog.at_level("INFO", logger="autotrainer"):
        again = checked(9000, 8000)
        logged = [r.getMessage() for r in caplog.records]
    fresh = prepare_bars(type(bars)(bars.frame.iloc[:9000], bars.origin, list(bars.warnings), [], bars.server_clock),
                         settings, 8000)
    assert again.frame.equals(fresh.frame) and len(again.frame) == 8000
    assert (again.warnings, again.notes) == (fresh.warnings, fresh.notes)
    assert [f"Data: {note}" for note in fresh.notes] == logged
    assert checked(9001, 8000).frame["time"].iloc[-1] > again.frame["time"].iloc[-1]
