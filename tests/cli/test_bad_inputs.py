"""Inputs that used to end in exit 1, hang or print two lines (issue 15, items 8-13), through the real CLI.

Each must end in exit 2 with one `error:` line on stderr naming the file or setting and the problem, no
traceback, and nothing changed - except a damaged scheduler state, which is derived data: it is ignored,
rebuilt from the history and reported once, so the scheduler is never blocked by it.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from pathlib import Path

import pytest
from conftest import PUBLISHABLE
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import load_settings
from autotrainer.data.bundled import SAMPLE_PATH
from autotrainer.data.sources import load_bars
from autotrainer.errors import ConfigError
from autotrainer.schedule import state as scheduler_state
from autotrainer.settings import SETTING_FIELDS

runner = CliRunner()
NOW = ["--now", "2026-02-11T02:00"]
SAMPLE_LINES = gzip.decompress(SAMPLE_PATH.read_bytes()).decode("utf-8").splitlines()  # real bars, server time


def one_error_line(result, *needles: str) -> str:
    """The result is exit 2 with exactly one `error:` line on stderr holding every needle, and no traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def bar_file(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- 8: a scheduler state of the wrong shape ------------------------------------------------------------

@pytest.mark.parametrize("content", [
    "null", "[]", "42", '"text"',
    '{"format": "autotrainer-scheduler-state/2", "runs": "x", "model": {}}',
    '{"format": "autotrainer-scheduler-state/2", "runs": {"daily": [1]}, "model": {}}',
    '{"format": "autotrainer-scheduler-state/2", "runs": {}, "model": {"published": "yes"}}',
    "[" * 100_000 + "]" * 100_000,
])
def test_a_state_file_of_the_wrong_shape_is_rebuilt_and_reported_once(content: str, tmp_path: Path) -> None:
    state = tmp_path / "data" / scheduler_state.STATE_FILE
    state.parent.mkdir()
    state.write_text(content)
    first = runner.invoke(app, ["check", *NOW])
    assert first.exit_code == 0 and "Traceback" not in first.output, first.output
    assert first.output.count(f"Scheduler state {state} is unusable") == 1
    assert "due: initial" in first.output  # decided from the history: nothing was ever published
    assert json.loads(state.read_text())["format"] == scheduler_state.FORMAT  # rebuilt
    second = runner.invoke(app, ["check", *NOW])
    assert second.exit_code == 0 and "unusable" not in second.output, second.output


# --- 9: absurdly wide bar files --------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [20_000, 200_000])
def test_a_header_thousands_of_columns_wide_is_refused(extra: int, tmp_path: Path) -> None:
    header = SAMPLE_LINES[0] + "".join(f",extra_{i}" for i in range(extra))
    path = bar_file(tmp_path / "wide.csv", [header, *SAMPLE_LINES[1:1500]])
    result = runner.invoke(app, ["bars", "--source", str(path), "--allow-stale"])
    one_error_line(result, str(path), f"{extra + 8} columns", "more than the 256")


def test_a_headerless_row_too_wide_is_refused(tmp_path: Path) -> None:
    rows = SAMPLE_LINES[1:1500]
    path = bar_file(tmp_path / "wide.csv", [rows[0] + ",0" * 300, *rows[1:]])
    one_error_line(runner.invoke(app, ["bars", "--source", str(path), "--allow-stale"]), str(path), "308 columns")


def test_a_parquet_file_too_wide_is_refused_from_its_schema(tmp_path: Path) -> None:
    import pandas as pd

    bars = load_bars(load_settings(None, {"source": "sample"}, env={}), 1500).frame
    wide = pd.concat([bars, pd.DataFrame({f"extra_{i}": 0.0 for i in range(300)}, index=bars.index)], axis=1)
    path = tmp_path / "wide.parquet"
    wide.to_parquet(path)
    one_error_line(runner.invoke(app, ["bars", "--source", str(path), "--allow-stale"]), str(path), "308 columns")


# --- 10: no price movement ---------------------------------------------------------------------------------

def _flattened(moving_every: int) -> list[str]:
    """The sample's times and volumes with O=H=L=C fixed, except on every `moving_every`-th bar."""
    out = [SAMPLE_LINES[0]]
    for i, line in enumerate(SAMPLE_LINES[1:]):
        fields = line.split(",")
        if i % moving_every:
            fields[1:5] = ["2000.50"] * 4
        out.append(",".join(fields))
    return out


@pytest.mark.parametrize("moving_every", [10**9, 500])  # flat throughout; one bar in 500 moves
def test_flat_prices_are_a_data_error_not_a_linalg_failure(moving_every: int, tmp_path: Path) -> None:
    path = bar_file(tmp_path / "flat.csv", _flattened(moving_every))
    env = {f"AUTOTRAINER_{k.upper()}": str(v) for k, v in PUBLISHABLE.items()}
    shown = runner.invoke(app, ["bars", "--source", str(path)], env=env)
    one_error_line(shown, str(path), "no price movement")
    trained = runner.invoke(app, ["retrain", "--source", str(path), "--type", "initial"], env=env)
    assert trained.exit_code == 2 and "no price movement" in trained.output, trained.output
    assert "LinAlgError" not in trained.output and "leak" not in trained.output
    assert not (tmp_path / "models" / "manifest.json").exists()


def test_a_few_flat_bars_are_fine(tmp_path: Path) -> None:
    lines = _flattened(1)  # every bar moves
    for i in range(1, len(lines), 50):  # but one bar in 50 repeats the close before it
        fields = lines[i].split(",")
        previous = lines[i - 1].split(",")[4] if i > 1 else fields[4]
        fields[1:5] = [previous] * 4
        lines[i] = ",".join(fields)
    path = bar_file(tmp_path / "some_flat.csv", lines)
    result = runner.invoke(app, ["bars", "--source", str(path), "--allow-stale"])
    assert result.exit_code == 0, result.output


# --- 11 and 12: settings files and values ------------------------------------------------------------------

@pytest.mark.parametrize("content, needle", [
    ('symbol = "XAUUSD"\n'.encode("utf-16"), "UTF-16"),
    ('symbol = "XAU\u00e9"\n'.encode("latin-1"), "byte 0xe9"),
    (bytes(range(256)) * 4, "binary"),
    (b"x = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000, "nested too deeply"),
])
def test_a_config_file_that_is_not_utf8_toml_is_exit_2(content: bytes, needle: str, tmp_path: Path) -> None:
    config = tmp_path / "autotrainer.toml"
    config.write_bytes(content)
    one_error_line(runner.invoke(app, ["check", *NOW]), str(config), needle)


def test_a_utf8_config_with_a_bom_is_read(tmp_path: Path) -> None:
    (tmp_path / "autotrainer.toml").write_bytes('min_bars = 1234\n'.encode("utf-8-sig"))
    assert load_settings(env={}).min_bars == 1234


@pytest.mark.parametrize("line, key, expected", [
    ("models_dir = true", "models_dir", "a path"),
    ("symbol = [1, 2]", "symbol", "text"),
    ("log_file = [1, 2]", "log_file", "text"),
    ("database_url = 3.5", "database_url", "text"),
    ("source = 1", "source", "text"),
    ("use_db = 1", "use_db", "true or false"),
    ("lookahead = 1.5", "lookahead", "an int"),
    ("symbol = 2026-01-01", "symbol", "text"),
])
def test_a_toml_value_of_the_wrong_type_is_exit_2(line: str, key: str, expected: str, tmp_path: Path) -> None:
    (tmp_path / "autotrainer.toml").write_text(line + "\n")
    one_error_line(runner.invoke(app, ["check", *NOW]), f"setting '{key}'", f"expected {expected}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autotrainer.toml"]  # nothing created


@pytest.mark.parametrize("key", sorted(SETTING_FIELDS))
def test_every_setting_refuses_a_value_of_another_type(key: str, tmp_path: Path) -> None:
    config = tmp_path / "autotrainer.toml"
    config.write_text(f"{key} = [1, 2]\n")  # no setting is a list of numbers
    with pytest.raises(ConfigError, match=f"setting '{key}'.*expected"):
        load_settings(env={})
    if SETTING_FIELDS[key].type != "bool":
        config.write_text(f"{key} = true\n")
        with pytest.raises(ConfigError, match=f"setting '{key}'.*expected"):
            load_settings(env={})


def test_an_environment_value_is_checked_against_the_type_too() -> None:
    with pytest.raises(ConfigError, match="setting 'use_db' .*AUTOTRAINER_USE_DB.*expected true or false"):
        load_settings(env={"AUTOTRAINER_USE_DB": "maybe"})
    with pytest.raises(ConfigError, match="setting 'models_dir' .*AUTOTRAINER_MODELS_DIR.*expected a path"):
        load_settings(env={"AUTOTRAINER_MODELS_DIR": " "})


@pytest.mark.parametrize("key", ["data_dir", "models_dir"])
def test_a_folder_setting_that_is_not_a_folder_is_exit_2(key: str, tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("not a folder")
    for value, problem in (("/dev/null", "exists and is not a folder"), ("afile", "exists and is not a folder"),
                           ("afile/models", "on its way is not a folder")):
        (tmp_path / "autotrainer.toml").write_text(f'{key} = "{value}"\n')
        for command in (["check", *NOW], ["retrain", "--source", "sample"]):
            one_error_line(runner.invoke(app, command), f"setting '{key}'", problem)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "autotrainer.toml"]


def test_a_folder_that_cannot_be_created_is_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = __import__("os").access
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    (tmp_path / "autotrainer.toml").write_text('data_dir = "locked/data"\n')
    one_error_line(runner.invoke(app, ["check", *NOW]), "setting 'data_dir'", f"no permission to write in {locked}")


# --- 11: manifests the bot and `auc` must survive ------------------------------------------------------------

@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding one real published pair (trained on the bundled bars)."""
    from autotrainer.jobs.retrain import retrain

    root = tmp_path_factory.mktemp("published")
    settings = load_settings(None, {**PUBLISHABLE, "source": "sample", "models_dir": root / "models",
                                    "data_dir": root / "data", "log_file": ""}, env={})
    assert retrain(settings, "initial").published
    return root / "models"


def _damage(manifest: dict, how: str) -> bytes:
    if how == "signal_buys":
        manifest["metrics"]["signals"]["signal_buys"] = []
        return json.dumps(manifest).encode()
    text = json.dumps(manifest)
    return (text[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()


@pytest.mark.parametrize("how, problem", [("signal_buys", "'metrics.signals.signal_buys' must be a whole number"),
                                          ("nested", "nested too deeply")])
def test_a_bad_manifest_is_named_by_auc_and_never_raises_in_the_bot(
        how: str, problem: str, published: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from autotrainer.live import ModelWatcher

    models = tmp_path / "models"
    shutil.copytree(published, models)
    manifest = models / "manifest.json"
    manifest.write_bytes(_damage(json.loads(manifest.read_bytes()), how))
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    one_error_line(runner.invoke(app, ["auc"]), str(manifest), problem)
    with caplog.at_level(logging.WARNING, logger="autotrainer.live"):
        assert ModelWatcher(models).poll() is None
    assert problem in caplog.text
    assert {p.name: p.read_bytes() for p in models.iterdir()} == before


# --- 13: a ragged row ---------------------------------------------------------------------------------------

def test_a_ragged_row_is_one_line_naming_its_row_and_utc_time(tmp_path: Path) -> None:
    lines = SAMPLE_LINES[:1500]
    clean = bar_file(tmp_path / "clean.csv", lines)
    time = load_bars(load_settings(None, {"source": str(clean), "allow_stale_data": True}, env={}), 10**6).frame["time"]
    lines[501] += ",7,8"  # data row 501 (file line 502)
    path = bar_file(tmp_path / "ragged.csv", lines)
    line = one_error_line(runner.invoke(app, ["bars", "--source", str(path), "--allow-stale"]))
    assert line == f"error: {path} row 501 (time {time.iloc[500]:%Y-%m-%d %H:%M} UTC): 10 fields, but the header has 8"


# --- found on the way: an outbox line nested past reading ----------------------------------------------------

def test_an_outbox_line_nested_too_deeply_is_skipped_with_a_warning(tmp_path: Path) -> None:
    outbox = tmp_path / "data" / "history-outbox.jsonl"
    outbox.parent.mkdir()
    outbox.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    first = runner.invoke(app, ["history"])
    assert first.exit_code == 0 and "Traceback" not in first.output, first.output
    assert "line 1 is not a complete record and was skipped" in first.output
    assert runner.invoke(app, ["history"]).exit_code == 0  # before: exit 1 on every command while it stayed
