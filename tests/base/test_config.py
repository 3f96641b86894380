"""Settings: seed names and defaults, layering (file < env < flags), and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from autotrainer.config import Settings, load_settings
from autotrainer.errors import ConfigError


def test_defaults_are_the_seeds() -> None:
    s = Settings()
    assert (str(s.models_dir), str(s.data_dir)) == ("models", "data")
    assert (s.daily_retrain_hour_wib, s.weekend_retrain, s.min_hours_between_retrain) == (5, True, 20.0)
    assert (s.backup_models, s.use_db, s.min_auc_threshold, s.auto_retrain_on_low_auc) == (True, True, 0.65, True)
    assert (s.publish_floor_auc, s.backups_kept, s.hmm_regimes, s.hmm_lookback) == (0.52, 5, 3, 500)
    assert (s.train_ratio, s.early_stopping_rounds, s.confidence_threshold) == (0.7, 5, 0.60)
    assert s.bars_and_rounds("daily") == (8000, 50)
    assert s.bars_and_rounds("weekend") == (15000, 80)
    assert s.bars_and_rounds("initial") == (8000, 50)
    assert s.bars_and_rounds("emergency") == (8000, 50)


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "autotrainer.toml"
    cfg.write_text('daily_bars = 5000\nmin_auc_threshold = 0.6\nsymbol = "XAUUSDm"\n')
    s = load_settings(cfg, {}, env={"AUTOTRAINER_DAILY_BARS": "6000"})
    assert (s.daily_bars, s.min_auc_threshold, s.symbol) == (6000, 0.6, "XAUUSDm")
    s = load_settings(cfg, {"daily_bars": 7000}, env={"AUTOTRAINER_DAILY_BARS": "6000"})
    assert s.daily_bars == 7000


def test_default_file_in_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / "autotrainer.toml").write_text("weekend_retrain = false\n")
    assert load_settings(None, {}, env={}).weekend_retrain is False


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AUTOTRAINER_TRAIN_RATIO": "1.5"}, "'train_ratio' = '1.5' (from environment variable AUTOTRAINER_TRAIN_RATIO)"),
        ({"AUTOTRAINER_USE_DB": "maybe"}, "expected true or false"),
        ({"AUTOTRAINER_TIMEFRAME": "M7"}, "one of M1, M5, M15, M30, H1, H4, D1"),
        ({"AUTOTRAINER_SERVER_TIMEZONE": "Mars/Olympus"}, "is not a time zone"),
        ({"AUTOTRAINER_DAILY_BARZ": "10"}, "unknown setting 'daily_barz'"),
    ],
)
def test_bad_environment_values_name_the_setting(env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(None, {}, env=env)
    assert needle in str(err.value)
    assert err.value.exit_code == 2


def test_unknown_key_in_file_suggests_the_right_name(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("min_auc_treshold = 0.7\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'min_auc_treshold' \(from .*bad.toml\); did you mean 'min_auc_threshold'"):
        load_settings(cfg, {}, env={})


def test_inconsistent_thresholds_are_refused() -> None:
    with pytest.raises(ConfigError, match="'publish_floor_auc' = 0.7 must not exceed 'min_auc_threshold' = 0.65"):
        load_settings(None, {"publish_floor_auc": 0.7}, env={})


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    cfg = tmp_path / "broken.toml"
    cfg.write_text("daily_bars = [\n")
    with pytest.raises(ConfigError, match="broken.toml is not valid TOML"):
        load_settings(cfg, {}, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", {}, env={})


def test_server_timezone_accepts_offsets_and_names() -> None:
    for value in ("UTC", "+03:00", "-0500", "UTC+2", "Europe/Athens"):
        assert load_settings(None, {"server_timezone": value}, env={}).server_timezone == value


def test_metatrader_credentials_come_from_the_environment_and_the_password_is_never_shown() -> None:
    env = {"AUTOTRAINER_MT5_LOGIN": "5012345", "AUTOTRAINER_MT5_PASSWORD": "s3cret!", "AUTOTRAINER_MT5_SERVER": "Broker-Live",
           "AUTOTRAINER_MT5_PATH": r"C:\Program Files\MetaTrader 5\terminal64.exe"}
    s = load_settings(None, {}, env=env)
    assert (s.mt5_login, s.mt5_password, s.mt5_server) == (5012345, "s3cret!", "Broker-Live")
    assert s.mt5_path.endswith("terminal64.exe")
    public = s.public_dict()
    assert public["mt5_password_set"] and "s3cret!" not in str(public) and "s3cret!" not in repr(s)
    assert "5012345" not in str(public) and not Settings().public_dict()["mt5_password_set"]
    with pytest.raises(ConfigError, match=r"setting 'mt5_password' = <hidden> \(from environment variable "
                                          r"AUTOTRAINER_MT5_PASSWORD\) is not allowed"):
        load_settings(None, {}, env={"AUTOTRAINER_MT5_PASSWORD": "   "})
    with pytest.raises(ConfigError, match=r"'mt5_login' = 'abc' \(from environment variable AUTOTRAINER_MT5_LOGIN\)"):
        load_settings(None, {}, env={"AUTOTRAINER_MT5_LOGIN": "abc"})
    with pytest.raises(ConfigError, match=r"unknown setting 'mt5_pasword'.*did you mean 'mt5_password'"):
        load_settings(None, {}, env={"AUTOTRAINER_MT5_PASWORD": "x"})


def test_server_clock_can_follow_new_york_daylight_saving() -> None:
    from datetime import datetime, timedelta

    from autotrainer.timeutil import parse_server_clock

    zone, shift = parse_server_clock("America/New_York+07:00")
    assert shift == timedelta(hours=7) and zone.utcoffset(datetime(2026, 7, 1)) == timedelta(hours=-4)
    assert parse_server_clock("Europe/Athens")[1] == timedelta(0)
    assert load_settings(None, {"server_timezone": "America/New_York+7"}, env={}).server_timezone == "America/New_York+7"
    with pytest.raises(ConfigError, match=r"'Mars/Olympus' is not a time zone"):
        load_settings(None, {"server_timezone": "Mars/Olympus+02:00"}, env={})
