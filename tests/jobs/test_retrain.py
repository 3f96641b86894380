"""The whole pipeline on the real bundled bars: publish, back up, reject, survive a crash, refuse bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE
from typer.testing import CliRunner

from autotrainer import fsutil
from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.history.service import History
from autotrainer.jobs.retrain import retrain
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under `directory` with its bytes."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_retrain_publishes_a_pair_whose_checksums_verify(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE)
    outcome = retrain(settings, "initial")
    assert outcome.exit_code == 0 and outcome.published
    record = outcome.record
    assert record.status in ("success", "warning") and record.success and record.hmm_trained and record.xgb_trained
    bundle = load_bundle(settings.models_dir)
    assert bundle.manifest["run_id"] == record.run_id
    for role in store.roles(bundle.manifest):
        entry = bundle.manifest["files"][role]
        assert store.sha256_file(settings.models_dir / entry["name"]) == entry["sha256"]
    assert store.roles(bundle.manifest) == ("xgboost", "hmm", "guard")
    assert bundle.manifest["metrics"]["test_auc"] == record.test_auc
    assert len(bundle.features) == record.feature_count >= 40
    assert bundle.manifest["data"]["fingerprint"] == record.data_fingerprint
    assert set(bundle.manifest["versions"]) >= {"autotrainer", "python", "hmmlearn", "numpy", "pandas"}
    assert bundle.manifest["regime"]["states"] == ["low", "medium", "high"]
    # Model files are XGBoost's own binary JSON and plain JSON, never pickles.
    assert (settings.models_dir / bundle.manifest["files"]["hmm"]["name"]).read_bytes().startswith(b"{")
    assert not (settings.models_dir / bundle.manifest["files"]["xgboost"]["name"]).read_bytes().startswith(b"\x80")
    # The recorded run is the seed's columns plus ours, and the seed's timestamp line is written.
    (stored,) = History(settings).view().runs
    assert stored.run_id == record.run_id and stored.test_auc == record.test_auc
    assert (settings.data_dir / "retrain_history.txt").read_text().strip().endswith("+07:00")


def test_second_retrain_backs_the_first_up_and_seven_leave_five(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE)
    first = retrain(settings, "initial").record
    second = retrain(settings, "daily").record
    assert second.backup_path is not None
    backup = Path(second.backup_path)
    assert load_bundle(backup).manifest["run_id"] == first.run_id
    assert load_bundle(settings.models_dir).manifest["run_id"] == second.run_id
    run_ids = [first.run_id, second.run_id] + [retrain(settings, "daily").record.run_id for _ in range(5)]
    backups = store.list_backups(settings.models_dir)
    assert len(backups) == 5
    assert [load_bundle(b).manifest["run_id"] for b in backups] == run_ids[1:6][::-1]
    # Only the active pair and its manifest remain in models/ itself.
    assert sorted(p.name for p in settings.models_dir.iterdir() if p.is_file()) == sorted(
        [store.MANIFEST] + [e["name"] for e in load_bundle(settings.models_dir).manifest["files"].values()])


@pytest.mark.usefixtures("published_pair")
def test_rejected_candidate_leaves_published_files_byte_identical(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**{**PUBLISHABLE, "publish_floor_auc": 0.64, "min_auc_threshold": 0.65})
    before = snapshot(settings.models_dir)
    outcome = retrain(settings, "daily")
    assert outcome.exit_code == 3 and not outcome.published
    assert outcome.record.status == "rolled_back" and not outcome.record.success
    assert "below the floor 0.64" in outcome.record.error_message
    assert snapshot(settings.models_dir) == before


def test_first_candidate_below_floor_publishes_nothing(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(publish_floor_auc=0.64, daily_bars=3000, initial_bars=3000)
    outcome = retrain(settings, "initial")
    assert outcome.exit_code == 3
    assert "no model has been published yet" in outcome.record.error_message
    assert store.read_manifest(settings.models_dir) is None


def test_crash_between_the_two_file_moves_keeps_the_previous_pair(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(**PUBLISHABLE)
    first = retrain(settings, "initial").record
    real_replace, moves = fsutil.replace, []

    def crash_on_second_model_file(src: Path, dst: Path, attempts: int = 20) -> None:
        moves.append(dst.name)
        if dst.parent == settings.models_dir and dst.name.startswith("hmm_regime-"):
            raise OSError("simulated crash between publishing the two files")
        real_replace(src, dst, attempts)

    monkeypatch.setattr(fsutil, "replace", crash_on_second_model_file)
    outcome = retrain(settings, "daily")
    assert outcome.exit_code == 1 and outcome.record.status == "failed"
    assert "simulated crash" in outcome.record.error_message
    assert any(name.startswith("xgboost_model-") for name in moves)  # the first file had been swapped in
    bundle = load_bundle(settings.models_dir)  # verified: checksums match the manifest
    assert bundle.manifest["run_id"] == first.run_id
    monkeypatch.setattr(fsutil, "replace", real_replace)
    after = retrain(settings, "daily")
    assert after.exit_code == 0 and load_bundle(settings.models_dir).manifest["run_id"] == after.record.run_id
    leftovers = [p.name for p in settings.models_dir.iterdir() if p.is_file() and outcome.record.run_id in p.name]
    assert leftovers == []


def test_too_few_bars_is_skipped_and_recorded(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE)
    outcome = retrain(settings, "daily", bars=900)
    assert outcome.exit_code == 4 and outcome.record.status == "skipped"
    assert "only 900 bars" in outcome.record.error_message
    assert [r.status for r in History(settings).view().runs] == ["skipped"]
    assert not settings.models_dir.exists() or store.read_manifest(settings.models_dir) is None


runner = CliRunner()


@pytest.mark.usefixtures("published_pair")
def test_cli_bad_configuration_exits_2_and_changes_nothing(tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["retrain", "--timeframe", "M7"])
    assert result.exit_code == 2
    assert "setting 'timeframe' = 'M7' (from command line) is not allowed: expected one of M1" in result.output
    (tmp_path / "autotrainer.toml").write_text("min_auc_threshold = 1.5\n")
    result = runner.invoke(app, ["retrain"])
    assert result.exit_code == 2 and "'min_auc_threshold' = 1.5" in result.output
    (tmp_path / "autotrainer.toml").unlink()
    assert snapshot(tmp_path) == before


@pytest.mark.usefixtures("published_pair")
def test_cli_bad_data_exits_2_names_the_row_and_changes_no_model(
    make_settings: Callable[..., Settings], tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
    models_before = snapshot(tmp_path / "models")
    bad = sample_frame.iloc[-2000:].reset_index(drop=True)
    bad.loc[1234, "high"] = bad.loc[1234, "low"] - 1
    bad["time"] = bad["time"].dt.tz_convert("Europe/Athens").dt.strftime("%Y-%m-%d %H:%M:%S")
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(app, ["retrain", "--source", str(tmp_path / "bad.csv"), "--bars", "2000"])
    assert result.exit_code == 2
    assert "bad.csv row 1235" in result.output and "is below low" in result.output
    assert snapshot(tmp_path / "models") == models_before
    assert History(make_settings()).view().runs[0].status == "failed"


def test_cli_json_uses_the_record_field_names(tmp_path: Path) -> None:
    (tmp_path / "autotrainer.toml").write_text(
        "\n".join(f"{k} = {json.dumps(v)}" for k, v in PUBLISHABLE.items()) + "\n")
    result = runner.invoke(app, ["retrain", "--json", "--type", "daily"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] in ("success", "warning") and data["training_type"] == "daily"
    for key in ("train_auc", "test_auc", "test_auc_low", "test_auc_high", "train_accuracy", "test_accuracy",
                "bars_used", "num_boost_rounds", "duration_seconds", "run_id", "exit_code"):
        assert key in data


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "autotrainer", "--version"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("autotrainer ")


def test_an_unforeseen_fault_is_one_line_and_exit_1_with_the_traceback_in_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autotrainer.models.regime

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated fault inside the HMM fit")

    monkeypatch.setattr(autotrainer.models.regime, "fit_regime_model", broken)
    result = runner.invoke(app, ["retrain"])
    assert result.exit_code == 1
    assert "unexpected RuntimeError: simulated fault inside the HMM fit" in result.output
    assert "Traceback" not in result.output
    log = (tmp_path / "logs" / "autotrainer.log").read_text()
    assert "Traceback" in log and "simulated fault inside the HMM fit" in log
    assert History(Settings(data_dir=tmp_path / "data")).view().runs[0].status == "failed"


def test_the_entry_point_turns_any_escaped_fault_into_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    import autotrainer.cli

    def escaped() -> None:
        raise OSError("disk vanished")

    monkeypatch.setattr(autotrainer.cli, "app", escaped)
    monkeypatch.setattr(logging.getLogger("autotrainer"), "handlers", [])  # a fresh process: nothing configured
    with pytest.raises(SystemExit) as exit_info:
        autotrainer.cli.main()
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == "error: unexpected OSError: disk vanished (details in the log file)"


@pytest.mark.parametrize("fault", [OSError("No space left on device (outbox)"), RuntimeError("bug in the event writer")])
def test_a_publish_whose_event_cannot_be_recorded_is_still_reported_as_published(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    settings = make_settings(**PUBLISHABLE)
    first = retrain(settings, "initial").record
    real_add_event = History.add_event

    def failing_publish_event(self: History, event) -> None:
        if event.kind == "publish":
            raise fault
        real_add_event(self, event)

    monkeypatch.setattr(History, "add_event", failing_publish_event)
    outcome = retrain(settings, "daily")
    record = outcome.record
    assert load_bundle(settings.models_dir).manifest["run_id"] == record.run_id != first.run_id  # the swap happened
    assert outcome.published and outcome.exit_code == 8  # published, but not fully recorded (README: exit codes)
    assert record.status in ("success", "warning") and record.success and record.error_message is None
    assert any("IS live" in w and str(fault) in w for w in record.warnings)
    stored = History(settings).view().runs[0]
    assert stored.run_id == record.run_id and stored.status == record.status and stored.manifest_sha256
    assert any("IS live" in w for w in stored.warnings)


def test_a_published_run_whose_record_cannot_be_written_exits_8_not_1(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(**PUBLISHABLE)

    def disk_full(self: History, record) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(History, "finish_run", disk_full)
    outcome = retrain(settings, "initial")
    assert outcome.published and outcome.exit_code == 8
    assert load_bundle(settings.models_dir).manifest["run_id"] == outcome.record.run_id


def test_a_fault_after_the_manifest_rename_does_not_report_the_new_pair_as_unpublished(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(**PUBLISHABLE)
    real_write_atomic = store.write_atomic

    def flush_fails_after_the_rename(path: Path, data: bytes) -> None:
        real_write_atomic(path, data)
        if path == settings.models_dir / store.MANIFEST:
            raise OSError("fsync of the models directory failed")

    monkeypatch.setattr(store, "write_atomic", flush_fails_after_the_rename)
    outcome = retrain(settings, "initial")
    assert load_bundle(settings.models_dir).manifest["run_id"] == outcome.record.run_id
    assert outcome.exit_code == 0 and outcome.published and outcome.record.status in ("success", "warning")
