"""A replay an operator can act on (issue 18): the verdict first, with the paired differences it follows from,
the market's base rate and drift, the money of every serving, and what makes it reproducible (the source's
fingerprint, the settings that differ from the defaults, the rules); counts that agree with their definitions;
and an H1 export replayed from the command line."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from autotrainer import __version__
from autotrainer.cli import app
from autotrainer.config import load_settings
from autotrainer.data.bundled import SAMPLE_PATH
from autotrainer.replay.money import cumulative_net, served_sides
from autotrainer.replay.simulate import ReplayRun, run_replay
from autotrainer.replay.summary import MIN_SERVED_ROWS, POLICIES, in_window, scores, served, summarise

# As tests/replay/test_replay.py: small retrains over a window with a weekend, a floor that publishes some.
FAST = {"initial_bars": 3000, "daily_bars": 3000, "weekend_bars": 4000, "emergency_bars": 3000,
        "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
        "publish_floor_auc": 0.5, "min_bars": 1000, "emergency_rule": "seed", "source": "sample"}
START = datetime(2025, 11, 5, 22, 0, tzinfo=timezone.utc)  # 2025-11-06 05:00 WIB
END = datetime(2025, 11, 11, 0, 0, tzinfo=timezone.utc)
SECRETS = {"mt5_password": "s3cret-Pw", "database_url": "postgresql+psycopg2://postgres:hunter2x@127.0.0.1:5432/test"}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One short replay of the bundled bars under settings read from a config file, with credentials set."""
    root = tmp_path_factory.mktemp("verdict")
    config = root / "autotrainer.toml"
    config.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in FAST.items()) + "\n")
    settings = load_settings(config, {**SECRETS, "models_dir": root / "live" / "models",
                                      "data_dir": root / "live" / "data"}, env={})
    run = run_replay(settings, root / "out", START, END)
    return {"run": run, "summary": json.loads(json.dumps(summarise(run)))}  # as --json and summary.json hold it


def _common(run: ReplayRun) -> np.ndarray:
    """The bars all three servings scored, from their scores (not from the summary's own mask)."""
    return in_window(run) & np.logical_and.reduce([~np.isnan(scores(run, served(run, n))) for n in POLICIES])


def test_the_verdict_follows_the_sign_of_each_paired_interval(replayed: dict[str, Any]) -> None:
    summary = replayed["summary"]
    verdict, baselines = summary["verdict"], summary["baselines"]
    assert set(verdict["comparisons"]) == {"keep_first", "publish_every"}
    opening = {"keep_first": "Retraining by the policy {} keeping the first model",
               "publish_every": "The policy {} publishing every retrain"}
    for name, paired in verdict["comparisons"].items():
        auc, total = paired["auc_difference"], paired["net_total_difference"]
        for difference in (auc, total, paired["net_per_bar_difference"]):
            assert difference["low"] <= difference["value"] <= difference["high"]
        money_sign = 1 if total["low"] > 0 else -1 if total["high"] < 0 else 0
        auc_sign = 1 if auc["low"] > 0 else -1 if auc["high"] < 0 else 0
        assert paired["verdict"] == (money_sign or auc_sign)
        said = {1: "beat", -1: "did worse than", 0: "did not beat"}[paired["verdict"]]
        assert opening[name].format(said) in verdict["text"]
        assert f"realised AUC difference {auc['value']:+.4f} [{auc['low']:+.4f}, {auc['high']:+.4f}]" in verdict["text"]
        # The differences are those of the numbers shown per serving, on the same bars.
        assert paired["rows"] == summary["common_bars"] == summary["market"]["bars"]
        assert auc["value"] == pytest.approx(baselines["policy"]["realised_auc"] - baselines[name]["realised_auc"],
                                             abs=2e-6)
        money = summary["money"]
        assert total["value"] == pytest.approx(money["policy"]["net_total"] - money[name]["net_total"], abs=1e-4)
    market = summary["market"]
    assert f"Base rate: {market['base_rate_up']:.1%} of the {market['bars']:,} common bars" in verdict["text"]
    assert f"({market['drift_pct']:+.1f}%)" in verdict["text"]


def test_the_market_is_the_base_rate_and_buy_and_holds_drift_on_the_common_bars(replayed: dict[str, Any]) -> None:
    run, summary = replayed["run"], replayed["summary"]
    market, money = summary["market"], summary["money"]
    rows = np.flatnonzero(_common(run))
    assert market["bars"] == len(rows) > 200
    assert market["base_rate_up"] == pytest.approx(float((run.close[rows + 1] > run.close[rows]).mean()), abs=1e-6)
    first, last = run.close[rows[0]], run.close[rows[-1] + 1]
    assert (market["first_close"], market["last_close"]) == (first, last)
    assert market["drift_pct"] == pytest.approx((last / first - 1) * 100, abs=1e-4)
    # Buy-and-hold pays one spread; always-long the same moves with a spread on every bar.
    costs = run.spread[rows] * run.costs.point
    assert money["buy_and_hold"]["net_total"] == pytest.approx(last - first - costs[0], abs=1e-6)
    assert money["always_long"]["net_total"] == pytest.approx(last - first - costs.sum(), abs=1e-4)
    assert money["always_long"]["signals"] == len(rows)


def test_money_is_given_for_every_serving_in_named_units(replayed: dict[str, Any]) -> None:
    run, summary = replayed["run"], replayed["summary"]
    money = summary["money"]
    assert set(money) == {"unit", *POLICIES, "always_long", "buy_and_hold"}
    assert money["unit"].startswith("XAUUSD price units")
    common = _common(run)
    for name in (*POLICIES, "always_long", "buy_and_hold"):
        figures = money[name]
        assert figures["max_drawdown"] >= 0 and figures["signals"] >= 0
        per_signal = figures["net_per_signal"]
        if per_signal["low"] is not None:
            assert per_signal["low"] <= per_signal["value"] <= per_signal["high"]
        assert figures["net_total_spreads"] == pytest.approx(
            figures["net_total"] / summary["baselines"]["policy"]["edge_average_spread"], rel=1e-4)
    for name in POLICIES:  # the same money the report's chart draws
        serving = served(run, name)
        sides, _ = served_sides(run, serving.model, scores(run, serving))
        drawn = cumulative_net(run, sides, common)
        assert money[name]["net_total"] == pytest.approx(float(drawn["signals"][-1]), abs=1e-4)
        assert money[name]["signals"] == summary["baselines"][name]["edge_signals"]
        assert money[name]["verdict"] == summary["baselines"][name]["edge_verdict"]


def test_the_source_settings_rules_and_version_are_recorded_without_secrets(replayed: dict[str, Any]) -> None:
    summary = replayed["summary"]
    source = summary["source"]
    assert source["sha256"] == hashlib.sha256(SAMPLE_PATH.read_bytes()).hexdigest()
    assert (source["path"], source["symbol"], source["timeframe"]) == (str(SAMPLE_PATH), "XAUUSD", "M15")
    assert (source["server_clock"], source["bars"]) == ("Europe/Athens", 15_000)
    assert source["first_bar"] == "2025-06-24T04:00:00+00:00" and source["last_bar"] == "2026-02-11T01:45:00+00:00"
    # Exactly what differs from the defaults (min_bars 1000 is the default; no folder the replay redirects), and
    # of the credentials only that one was set.
    assert summary["settings"] == {k: v for k, v in FAST.items() if k != "min_bars"} | {"mt5_password_set": True}
    rules = summary["rules"]
    assert (rules["floor"], rules["floor_rule"], rules["emergency_rule"]) == (0.5, "point", "seed")
    assert (rules["champion_rule"], rules["edge_rule"], rules["signal_rule"]) == ("delong", "no_loss", "keep_signalling")
    assert rules["confidence_threshold"] == 0.6 and rules["skip_unchanged"] is True
    assert summary["version"] == __version__ and len(summary["code_digest"]) == 64
    assert summary["window"]["start"] == START.isoformat() and summary["window"]["end"] == END.isoformat()
    text = json.dumps(summary)
    assert "hunter2x" not in text and "s3cret-Pw" not in text


def test_the_counts_agree_with_their_definitions(replayed: dict[str, Any]) -> None:
    run, summary = replayed["run"], replayed["summary"]
    definitions = summary["definitions"]
    assert {"retrains", "published", "models used", "models that served", "common bars", "signals", "base rate",
            "drift"} <= set(definitions)
    assert all(isinstance(sentence, str) and sentence for sentence in definitions.values())
    assert str(MIN_SERVED_ROWS) in definitions["models that served"]
    window = in_window(run)
    policy = served(run, "policy").model
    served_rows = {i: int(((policy == i) & window).sum()) for i in np.unique(policy[policy >= 0])}
    that_served = [i for i, n in served_rows.items() if n >= MIN_SERVED_ROWS]
    assert summary["published"] == sum(t.published for t in run.trained) == len(summary["published_models"])
    assert summary["models_in_gap"] == len(that_served) >= 1
    assert summary["baselines"]["policy"]["models_used"] == sum(n > 0 for n in served_rows.values())
    assert sum(row["runs"] for row in summary["by_type"].values()) == sum(summary["retrains"].values())
    assert sum(row["models_served"] for row in summary["by_type"].values()) == summary["models_in_gap"]
    reported = [run.trained[i].record.test_auc for i in that_served]  # the same models as the realised AUC
    assert summary["mean_reported_auc"] == pytest.approx(float(np.mean(reported)), abs=1e-6)
    for numbers in summary["baselines"].values():
        assert numbers["rows"] == summary["common_bars"] == int(_common(run).sum())


def _hourly(path: Path) -> Path:
    """The bundled M15 bars resampled to H1 in the server's clock, written as a plain CSV."""
    frame = pd.read_csv(SAMPLE_PATH, parse_dates=["time"]).set_index("time")
    hourly = frame.resample("1h").agg({"open": "first", "high": "max", "low": "min", "close": "last",
                                       "tick_volume": "sum", "spread": "mean", "real_volume": "sum"}).dropna()
    hourly["spread"] = hourly["spread"].round().astype(int)
    hourly.reset_index().to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return path


def test_an_h1_export_replays_from_the_command_line_with_its_own_clock(tmp_path: Path) -> None:
    export = _hourly(tmp_path / "hourly.csv")
    small = {"initial_bars": 1500, "daily_bars": 1500, "weekend_bars": 2000, "emergency_bars": 1500,
             "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
             "publish_floor_auc": 0.5, "min_bars": 1000, "emergency_rule": "seed"}
    env = {f"AUTOTRAINER_{k.upper()}": str(v) for k, v in small.items()} | {"AUTOTRAINER_SERVER_TIMEZONE": "UTC"}
    wrong = CliRunner().invoke(app, ["replay", "--source", str(export), "--out", str(tmp_path / "m15")], env=env)
    assert wrong.exit_code == 2 and not (tmp_path / "m15").exists()
    assert "the data looks like H1: set 'timeframe' to match the data (--symbol/--timeframe of retrain, bars and " \
           "replay" in wrong.output  # a flag replay has
    result = CliRunner().invoke(app, ["replay", "--json", "--timeframe", "H1", "--source", str(export),
                                      "--server-timezone", "Europe/Athens", "--from", "2026-01-05T05:00",
                                      "--to", "2026-01-08T05:00", "--out", str(tmp_path / "out")], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    source = summary["source"]
    assert (source["timeframe"], source["symbol"], source["server_clock"]) == ("H1", "XAUUSD", "Europe/Athens")
    assert source["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest() and source["path"] == str(export)
    assert summary["settings"]["timeframe"] == "H1" and "server_timezone" not in summary["settings"]
    assert summary["verdict"]["text"].startswith("Retraining by the policy")
    assert summary["market"]["bars"] == summary["common_bars"] > 30
    assert set(summary["money"]) >= {"policy", "keep_first", "publish_every", "always_long", "buy_and_hold"}
    for paired in summary["verdict"]["comparisons"].values():
        assert paired["rows"] == summary["common_bars"]


def test_the_terminal_summary_opens_with_the_verdict_and_fits_a_cp1252_console_of_100_columns(
        replayed: dict[str, Any]) -> None:
    import io

    from rich.console import Console

    from autotrainer.report.replay_table import replay_table

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252", errors="strict")  # a character it cannot show would raise
    Console(file=stream, width=100, color_system=None).print(replay_table(replayed["summary"]))
    stream.flush()
    lines = raw.getvalue().decode("cp1252").splitlines()
    assert lines[0] == "Verdict" and lines[1].startswith("Retraining by the policy")
    assert max(len(line) for line in lines) <= 100
    text = " ".join(line.strip() for line in lines)
    order = [text.index(marker) for marker in ("Verdict", "Market: XAUUSD M15", "Money after costs, in XAUUSD",
                                                "buy and hold", "Served on the same", "Settings changed",
                                                "Look-ahead audit", "What each count means")]
    assert order == sorted(order)
    assert "bars the runs read:" in text and "no label leak" in text  # the one audit, cp1252-safe
