"""Notifications against real servers on this machine: a Telegram Bot API stand-in (sendMessage), one that
hangs, one that answers 500, and an Apprise json:// webhook. Runs on the real bundled bars."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from bot_api import broken_bars, local_server
from conftest import PUBLISHABLE
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings, load_settings
from autotrainer.jobs.announce import blocked
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store
from autotrainer.timeutil import utc_now

TOKEN = "424242:AAF-secret-token-for-tests"
CHAT = "-1001234567"
REJECTING = {**PUBLISHABLE, "publish_floor_auc": 0.64, "min_auc_threshold": 0.65}


def telegram(url: str, **more: object) -> dict[str, object]:
    return {"telegram_api_url": url, "telegram_bot_token": TOKEN, "telegram_chat_id": CHAT,
            "notify_timeout_seconds": 2.0, **more}


def test_a_rejected_and_a_failed_retrain_each_send_one_telegram_message(
    make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    with local_server() as (url, server):
        rejected = retrain(make_settings(**REJECTING, **telegram(url)), "initial")
        failed = retrain(make_settings(**telegram(url), source=str(broken_bars(sample_frame, tmp_path / "bad.csv"))),
                         "daily", bars=2000)
    assert (rejected.exit_code, failed.exit_code) == (3, 2)  # the runs' own codes, notification or not
    assert [path for path, _ in server.requests] == [f"/bot{TOKEN}/sendMessage"] * 2
    first, second = (body for _, body in server.requests)
    assert first["chat_id"] == CHAT and first["parse_mode"] == "HTML"
    assert "<b>MODEL REJECTED</b>" in first["text"] and rejected.record.run_id in first["text"]
    assert "rejected (AUC below floor)" in first["text"] and "below the floor 0.64" in first["text"]
    assert f"{rejected.record.test_auc:.4f}" in first["text"] and "95% CI" in first["text"]
    assert rejected.record.edge_verdict in first["text"]
    assert "<b>RETRAIN FAILED</b>" in second["text"] and failed.record.run_id in second["text"]
    assert "row 1235" in second["text"] and "is below low" in second["text"]  # the reason, escaped HTML


@pytest.mark.parametrize("mode", ["hang", "500"])
def test_a_hanging_or_failing_server_changes_nothing_but_a_warning(
    mode: str, make_settings: Callable[..., Settings], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    quiet = make_settings(**PUBLISHABLE, models_dir=tmp_path / "quiet" / "models", data_dir=tmp_path / "quiet" / "data")
    baseline = retrain(quiet, "initial")
    with local_server(mode) as (url, server):
        told = make_settings(**PUBLISHABLE, **telegram(url, notify_on="published,failed"))
        with caplog.at_level(logging.INFO, logger="autotrainer"):
            outcome = retrain(told, "initial")
    assert len(server.requests) == 1
    expected = "no answer within 2 s (timeout); gave up" if mode == "hang" else "HTTP 500: Internal Server Error"
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "Notification" in r.getMessage()] \
        == [f"Notification (published) via Telegram not delivered: {expected}"]
    assert (outcome.exit_code, outcome.published, outcome.record.status) == (0, True, baseline.record.status)
    for name in ("test_auc", "train_auc", "test_auc_low", "test_auc_high", "edge_verdict", "sample_count"):
        assert getattr(outcome.record, name) == getattr(baseline.record, name)
    ours, theirs = store.read_manifest(told.models_dir), store.read_manifest(quiet.models_dir)
    assert ours["metrics"]["test_auc"] == theirs["metrics"]["test_auc"]
    assert [ours["files"][r]["sha256"] for r in store.ROLES] == [theirs["files"][r]["sha256"] for r in store.ROLES]


def test_the_hourly_limit_sends_one_message_per_kind(make_settings: Callable[..., Settings], sample_frame: pd.DataFrame,
                                                     tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bad = str(broken_bars(sample_frame, tmp_path / "bad.csv"))
    with local_server() as (url, server):
        settings = make_settings(**telegram(url), source=bad)
        with caplog.at_level(logging.INFO, logger="autotrainer"):
            for _ in range(3):  # a storm of failures (an emergency storm is limited the same way, by its kind)
                assert retrain(settings, "emergency", bars=2000).exit_code == 2
    assert len(server.requests) == 1 and "<b>EMERGENCY RETRAIN</b>" in server.texts[0]
    assert sum("held back: one went at" in r.getMessage() for r in caplog.records) == 2
    state = json.loads((settings.data_dir / "notify_state.json").read_text())
    assert list(state["sent"]) == ["emergency"]


def test_a_blocked_retrain_is_told_once_per_episode(make_settings: Callable[..., Settings]) -> None:
    with local_server() as (url, server):
        settings = make_settings(**telegram(url))
        now = utc_now()
        for minutes in (0, 15, 30):  # check --run every 15 minutes, held by the same guard
            blocked(settings, "loop_guard", "the last emergency retrain was rejected", now + timedelta(minutes=minutes))
        blocked(settings, None, "outside the retrain window", now)  # the episode ends
        blocked(settings, "weekly_close", "the week has not closed yet", now)  # the schedule's own wait: no block
    assert len(server.requests) == 1
    assert "<b>RETRAIN BLOCKED</b>" in server.texts[0] and "<code>loop_guard</code>" in server.texts[0]


def test_check_run_tells_a_held_back_retrain_and_an_expired_model_once_each(published_pair: Settings) -> None:
    from autotrainer.history.service import History
    from autotrainer.schedule.windows import next_window

    started = datetime.fromisoformat(History(published_pair).view().runs[0].started_at)
    window = next_window(started, published_pair)  # within 24 h of the published run: held by a 30 h guard
    with local_server() as (url, server):
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT, "AUTOTRAINER_TELEGRAM_API_URL": url,
               "AUTOTRAINER_MIN_HOURS_BETWEEN_RETRAIN": "30", **{f"AUTOTRAINER_{k.upper()}": str(v)
                                                                 for k, v in PUBLISHABLE.items()}}
        for minutes in (0, 15):
            now = (window + timedelta(minutes=minutes)).isoformat()
            result = CliRunner().invoke(app, ["check", "--run", "--json", "--now", now], env=env)
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["hold"] == "min_hours_between_retrain"
    # The bundled bars end in February 2026, so the published model is long past model_max_age_hours as well:
    # each episode is told once, whatever the number of checks.
    blocked_texts = [t for t in server.texts if "<b>RETRAIN BLOCKED</b>" in t]
    expired_texts = [t for t in server.texts if "<b>MODEL EXPIRED</b>" in t]
    assert len(server.requests) == 2 and len(blocked_texts) == len(expired_texts) == 1
    assert "<code>min_hours_between_retrain</code>" in blocked_texts[0] and "needs 30.0 h" in blocked_texts[0]
    run_id = History(published_pair).view().runs[0].run_id
    assert f"<code>{run_id}</code>" in expired_texts[0] and "gives no BUY/SELL" in expired_texts[0]


def test_apprise_urls_reach_a_loopback_webhook(make_settings: Callable[..., Settings], sample_frame: pd.DataFrame,
                                                tmp_path: Path) -> None:
    with local_server("webhook") as (url, server):
        hook = url.replace("http://", "json://user:hook-password-1@") + "/hook"
        settings = make_settings(notify_urls=hook, source=str(broken_bars(sample_frame, tmp_path / "bad.csv")))
        assert retrain(settings, "daily", bars=2000).exit_code == 2
    assert len(server.requests) == 1
    path, body = server.requests[0]
    assert path == "/hook" and body["title"] == "autotrainer: retrain failed" and "RETRAIN FAILED" in body["message"]


def test_notify_test_uses_the_bots_variables_and_no_token_shows_anywhere(tmp_path: Path) -> None:
    with local_server() as (url, server):
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT, "AUTOTRAINER_TELEGRAM_API_URL": url,
               "AUTOTRAINER_LOG_FILE": str(tmp_path / "logs" / "autotrainer.log")}
        result = CliRunner().invoke(app, ["notify", "--test"], env=env)
        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[-1] == "Telegram: sent"
        assert load_settings(None, env=env).telegram_bot_token == TOKEN
    assert server.requests[0][0] == f"/bot{TOKEN}/sendMessage"
    assert "<b>AUTOTRAINER TEST</b>" in server.texts[0] and "Telegram" in server.texts[0]
    with local_server("500") as (url, _):
        failed = CliRunner().invoke(app, ["notify", "--test", "--json"],
                                    env={**env, "AUTOTRAINER_TELEGRAM_API_URL": url})
    assert failed.exit_code == 1 and json.loads(failed.stdout) == {
        "channels": {"Telegram": "HTTP 500: Internal Server Error"}}
    everything = result.output + failed.output + "".join(
        p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert "Notification (test) via Telegram not delivered" in everything  # the log file has the lines ...
    assert TOKEN not in everything and TOKEN.split(":")[1] not in everything  # ... and no token


def test_no_token_or_url_in_any_run_output_or_file(make_settings: Callable[..., Settings], tmp_path: Path,
                                                   sample_frame: pd.DataFrame, caplog: pytest.LogCaptureFixture,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    hook_secret = "hook-password-2"
    with local_server("500") as (url, _), local_server("hang") as (hang, _):
        settings = make_settings(**telegram(hang), notify_urls=url.replace("http://", f"json://u:{hook_secret}@"),
                                 source=str(broken_bars(sample_frame, tmp_path / "bad.csv")))
        with caplog.at_level(logging.DEBUG):
            assert retrain(settings, "daily", bars=2000).exit_code == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "Notification" in r.getMessage()]
    assert len(warnings) == 2 and any("timeout" in w for w in warnings)
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file() and p.name != "bad.csv")
    shown = caplog.text + "".join(capsys.readouterr()) + files
    for secret in (TOKEN, hook_secret, "json://"):
        assert secret not in shown
