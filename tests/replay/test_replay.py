"""`autotrainer replay` on the real bundled bars: closed bars only, live state untouched, honest counts, bulk
scores equal to what the bot computes bar by bar, and a report that opens offline."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import recorded_runs
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import load_settings
from autotrainer.history import words
from autotrainer.history.service import History
from autotrainer.replay.simulate import ReplayRun, replay_settings, run_replay, utc_ns
from autotrainer.replay.summary import summarise
from autotrainer.store import pairs as store

# Small, fast retrains over a window that spans a weekend: initial, daily, weekend and emergency runs (the
# seed's emergency rule fires on honest AUCs), with a floor that publishes some candidates and rejects others
# on the ~0.50 AUCs of this data.
FAST = {"initial_bars": 3000, "daily_bars": 3000, "weekend_bars": 4000, "emergency_bars": 3000,
        "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
        "publish_floor_auc": 0.5, "min_bars": 1000, "emergency_rule": "seed"}
START = datetime(2025, 11, 5, 22, 0, tzinfo=timezone.utc)  # 2025-11-06 05:00 WIB
END = datetime(2025, 11, 11, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory, database_url_module: str) -> dict[str, Any]:
    """One replay shared by the tests below, run while a 'live' model and history exist elsewhere."""
    from autotrainer.jobs.retrain import retrain

    root = tmp_path_factory.mktemp("replay")
    live = load_settings(None, {**FAST, "models_dir": root / "live" / "models", "data_dir": root / "live" / "data",
                                "database_url": database_url_module, "publish_floor_auc": 0.0}, env={})
    assert retrain(live, "initial").published
    before = {"models": _snapshot(live.models_dir), "data": _snapshot(live.data_dir), "runs": _runs(live)}
    run = run_replay(live, root / "out", START, END)
    from autotrainer.data.sources import read_bars

    return {"run": run, "summary": summarise(run), "live": live, "before": before,
            "live_frame": read_bars(live, 1_000_000).frame}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The live history database: SQLite, then the local PostgreSQL (the replay must touch neither)."""
    from conftest import _postgres_database

    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path_factory.mktemp('livedb') / 'live.db').as_posix()}"
    else:
        yield from _postgres_database()


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


def _runs(settings: Any) -> list[tuple[str, str]]:
    history = History(settings)
    try:
        return [(r.run_id, r.status) for r in history.view(limit=10_000).runs]
    finally:
        history.close()


def test_no_model_is_trained_on_a_bar_that_had_not_closed(replayed: dict[str, Any]) -> None:
    run: ReplayRun = replayed["run"]
    frame_times = run.times
    step = timedelta(minutes=15)
    trained = [t for t in run.trained if t.record.data_end]
    assert len(trained) >= 10
    for t in trained:
        started = datetime.fromisoformat(t.record.started_at)
        data_end = datetime.fromisoformat(t.record.data_end)
        assert data_end + step <= started, t.record.run_id  # its newest bar had closed when it trained
        # ... and it is the newest bar that had closed: nothing known was left out either.
        closed = frame_times[(frame_times + step) <= started]
        assert closed.iloc[-1].to_pydatetime() == data_end
    for path in [run.out_dir / "models", *store.list_backups(run.out_dir / "models")]:
        manifest = store.read_manifest(path)
        assert datetime.fromisoformat(manifest["data"]["end"]) + step <= datetime.fromisoformat(manifest["created_at"])


def test_the_live_models_and_database_are_untouched(replayed: dict[str, Any]) -> None:
    from autotrainer.history.engines import is_scratch
    from autotrainer.history.service import history_url

    run: ReplayRun = replayed["run"]  # only the replay's own history skips the disk syncs
    assert is_scratch(history_url(replay_settings(run.settings, run.out_dir)))
    assert not is_scratch(history_url(replayed["live"]))
    live, before = replayed["live"], replayed["before"]
    assert _snapshot(live.models_dir) == before["models"]
    assert _snapshot(live.data_dir) == before["data"]
    assert _runs(live) == before["runs"]
    out = replayed["run"].out_dir
    assert (out / "models" / store.MANIFEST).exists() and (out / "data" / "autotrainer.db").exists()


def test_the_summary_counts_equal_the_replays_own_history(replayed: dict[str, Any]) -> None:
    run, summary = replayed["run"], replayed["summary"]
    runs = recorded_runs(run.out_dir / "data")
    assert len(runs) == sum(summary["retrains"].values()) == len(run.trained)
    assert Counter(r.training_type for r in runs) == Counter(summary["retrains"])
    assert Counter(words.outcome(r.status) for r in runs) == Counter(summary["outcomes"])
    assert Counter(r.trigger for r in runs) == Counter(summary["triggers"])
    history = History(replay_settings(run.settings, run.out_dir))
    events = history.view(limit=10_000).events
    history.close()
    assert sum(e.kind == "publish" for e in events) == summary["published"]
    assert sum(e.kind == "rejection" for e in events) == summary["outcomes"].get("rejected", 0)
    assert summary["retrains"].keys() >= {"initial", "daily", "weekend", "emergency"}
    assert summary["published"] >= 1 and summary["outcomes"].get("rejected", 0) >= 1


def test_the_live_measurements_the_decisions_saw_are_the_hourly_ones_cron_takes(replayed: dict[str, Any]) -> None:
    """cron runs `auc --live` at minute 7 of every hour (cron/autotrainer.crontab): the replay measures then, on
    the bars closed by then, not at every new bar."""
    import sqlite3

    database = sqlite3.connect(replayed["run"].out_dir / "data" / "autotrainer.db")
    checks = database.execute("SELECT measured_at, data_end, drift_bars FROM auc_checks").fetchall()
    database.close()
    assert len(checks) >= 3
    # recorded with the drift figures `auc --live` records, though the decisions (drift rule off) never read them
    assert all(drift_bars is not None for _, _, drift_bars in checks)
    for measured_at, data_end, _ in checks:
        measured = datetime.fromisoformat(measured_at)
        assert (measured.minute, measured.second, measured.microsecond) == (7, 0, 0)
        if data_end is not None:  # the newest bar it judged had closed, and so had the bar it predicts
            assert datetime.fromisoformat(data_end) + timedelta(minutes=30) <= measured


def test_bulk_scores_equal_predict_latest_bar_by_bar(replayed: dict[str, Any]) -> None:
    from autotrainer.data.sources import read_bars
    from autotrainer.live import predict_latest
    from autotrainer.store.bundle import load_bundle

    run = replayed["run"]
    models = run.out_dir / "models"
    bundles = [load_bundle(path) for path in [models, *store.list_backups(models)]]
    by_id = {t.record.run_id: t for t in run.trained}
    bundle = max(bundles, key=lambda b: int((~np.isnan(by_id[b.manifest["run_id"]].p_up)).sum()))  # longest served
    trained = by_id[bundle.manifest["run_id"]]
    frame = read_bars(replay_settings(run.settings, run.out_dir), 1_000_000).frame
    scored = np.flatnonzero(~np.isnan(trained.p_up))
    rows = np.random.default_rng(7).choice(scored, size=12, replace=False)
    for row in rows:
        bar = int(np.searchsorted(utc_ns(frame["time"]), utc_ns(run.times)[row]))
        assert frame["time"].iloc[bar] == run.times.iloc[row]
        signal = predict_latest(bundle, frame.iloc[: bar + 1])
        assert signal.time == run.times.iloc[row]
        assert abs(signal.p_up - trained.p_up[row]) <= 1e-9
        assert signal.guard_score == pytest.approx(trained.guard.score[row], abs=1e-9)  # one score, bulk or bot


def test_summary_has_the_numbers_operators_compare(replayed: dict[str, Any]) -> None:
    summary = replayed["summary"]
    for key in ("mean_reported_auc", "mean_realised_auc", "optimism_gap", "hours_without_model", "retrains",
                "outcomes", "baselines", "seconds"):
        assert key in summary
    assert set(summary["baselines"]) == {"policy", "keep_first", "publish_every"}
    policy, every = summary["baselines"]["policy"], summary["baselines"]["publish_every"]
    assert policy["rows"] == every["rows"] == summary["common_bars"] > 0
    assert policy["realised_auc_low"] <= policy["realised_auc"] <= policy["realised_auc_high"]
    assert every["models_used"] >= policy["models_used"]
    assert summary["optimism_gap"] == pytest.approx(summary["mean_reported_auc"] - summary["mean_realised_auc"], abs=1e-6)
    assert summary["loop_guard_holds"] == summary["holds"].get("loop_guard", 0)
    for numbers in summary["baselines"].values():  # the money after costs, beside always-long and no-trade
        assert numbers["edge_verdict"] in ("edge demonstrated", "losing after costs", "no evidence of an edge",
                                           "no signals")
        assert numbers["edge_signals"] == numbers["signal_buys"] + numbers["signal_sells"]
        assert numbers["edge_always_long_signals"] == numbers["edge_bars"] <= numbers["rows"]
        assert numbers["edge_no_trade_total"] == 0.0 and numbers["edge_spread_source"] == "the bars' spread column"
    assert len(summary["published_models"]) == summary["published"]


def test_replay_from_the_command_line_writes_a_report_that_opens_offline(tmp_path: Path) -> None:
    env = {f"AUTOTRAINER_{k.upper()}": str(v) for k, v in FAST.items()}
    out = tmp_path / "replay"
    result = CliRunner().invoke(app, ["replay", "--from", "2025-11-10T05:00", "--to", "2025-11-11T12:00",
                                      "--out", str(out), "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    report = Path(summary["report"])
    assert report == out / "report.html"
    html = report.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', html)
    assert {"auc_over_time.png", "regime_shares.png", "feature_importance.png", "net_return.png"} <= set(images)
    assert "Money after costs" in html
    assert "look-ahead audit" in html and "bars the runs read:" in html and "no label leak" in html
    for name in images:
        assert (out / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "http://" not in html and "https://" not in html  # nothing fetched from the network
    assert json.loads((out / "summary.json").read_text()) == {k: v for k, v in summary.items() if k != "report"}


def test_a_non_empty_out_folder_or_a_window_before_enough_bars_is_refused(tmp_path: Path) -> None:
    env = {f"AUTOTRAINER_{k.upper()}": str(v) for k, v in FAST.items()}
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    result = CliRunner().invoke(app, ["replay", "--out", str(taken)], env=env)
    assert result.exit_code == 2 and "not empty" in result.output
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]
    early = CliRunner().invoke(app, ["replay", "--from", "2025-06-25", "--out", str(tmp_path / "early")], env=env)
    assert early.exit_code == 2 and "min_bars" in early.output
    assert not (tmp_path / "early").exists()


def test_serving_safety_counts_expired_hours_and_the_guards_withheld_signals(replayed: dict[str, Any]) -> None:
    safety = replayed["summary"]["serving_safety"]
    assert safety["hours_expired"] >= 0 and 0 <= safety["guard_signals_share"] <= 1
    assert safety["guard_withheld_signals"] == safety["guard_withheld_edge"]["edge_signals"]
    assert safety["guard_withheld_bars"] >= safety["guard_withheld_signals"]


def test_the_bars_are_audited_once_and_every_run_carries_that_audit(replayed: dict[str, Any]) -> None:
    """The replay audits every bar its runs read before the first run, and no run audits its stretch again."""
    from autotrainer.jobs.steps import covered_by

    run: ReplayRun = replayed["run"]
    audit = run.audit
    assert audit.clean and audit.probed_bars > 0 and audit.cuts
    assert datetime.fromisoformat(audit.last_bar) <= run.end
    candidates = [t for t in run.trained if t.candidate is not None]
    assert candidates
    for trained in candidates:  # a run's own audit of its 3,000 bars would have compared and probed fewer
        assert trained.candidate.manifest["audit"] == audit.manifest_entry()
        assert datetime.fromisoformat(trained.candidate.manifest["data"]["start"]) >= datetime.fromisoformat(
            audit.first_bar)
    assert run.trained_ahead > 0  # candidates trained in the pool carry it too
    recorded = replayed["summary"]["audit"]  # and the summary records it
    assert (recorded["bars"], recorded["probed_bars"], recorded["last_bar"]) == (audit.bars, audit.probed_bars,
                                                                               audit.last_bar)
    assert "no label leak" in recorded["summary"]
    # bars the replay's audit did not cover are not taken as audited
    frame = replayed["live_frame"]
    assert covered_by(audit, frame.iloc[-100:]) is None and covered_by(audit, frame.iloc[:100]) is audit


def test_a_leaking_plugin_stops_the_replay_before_any_run(tmp_path: Path) -> None:
    """A column that reads the next bar fails the one audit: the replay raises before training anything."""
    from autotrainer.errors import LeakageError

    settings = load_settings(None, {**FAST, "features": ["plugin_examples:future_return"]}, env={})
    with pytest.raises(LeakageError, match="future_return"):
        run_replay(settings, tmp_path / "out", START, START + timedelta(days=1), workers=1)
    assert _runs(replay_settings(settings, tmp_path / "out")) == []


def test_drift_taken_only_where_read_records_the_same_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the drift rule a replay adds drift figures only to the checks it records; with the rule on (at a
    share no window reaches, so the decisions stay the same) it adds them to every check: same records. (PSI
    from 20 new bars on, so the daily runs' checks have one.)"""
    import sqlite3

    from autotrainer.models import guard

    monkeypatch.setattr(guard, "MIN_DRIFT_BARS", 20)
    recorded = {}
    for share in (0.0, 1.0):
        settings = load_settings(None, {**FAST, "drift_emergency_share": share}, env={})
        run = run_replay(settings, tmp_path / str(share), START, START + timedelta(days=2), workers=1)
        database = sqlite3.connect(run.out_dir / "data" / "autotrainer.db")
        recorded[share] = database.execute("SELECT model_run_id, measured_at, auc, drift_bars, drift_share, psi_max, "
                                           "guard_withheld_share FROM auc_checks ORDER BY measured_at").fetchall()
        database.close()
    assert recorded[0.0] and all(row[3] is not None for row in recorded[0.0])
    assert any(row[4] is not None for row in recorded[0.0])  # enough bars since training for a PSI
    assert [row[1:] for row in recorded[0.0]] == [row[1:] for row in recorded[1.0]]
