"""A broken active pair never blocks its own repair: an unreadable or incomplete manifest is restored from a
good backup, else replaced by the next candidate, through the API and the real command line alike."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import PUBLISHABLE, recorded_runs
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.errors import ModelStoreError
from autotrainer.history.service import History
from autotrainer.jobs.retrain import default_training_type, retrain
from autotrainer.schedule import state as scheduler_state
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle

runner = CliRunner()
UNPARSEABLE = b'{"format": "autotrainer-manifest/1", "run_id": '  # cut short, as by a full disk
INCOMPLETE = b'{"format": "autotrainer-manifest/1", "created_at": "2026-01-05T22:00:00+00:00"}'  # no run_id, no files


@pytest.fixture
def backed_up(make_settings: Callable[..., Settings], tmp_path: Path) -> tuple[Settings, str]:
    """Two publishes, so the first pair is a good backup; the settings are also in ./autotrainer.toml for the CLI.
    Returns the settings and the backed-up run id."""
    extra = {"champion_tolerance": 0.5, "emergency_min_hours": 0.0}
    (tmp_path / "autotrainer.toml").write_text(
        "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**PUBLISHABLE, **extra}.items()) + "\n")
    settings = make_settings(**PUBLISHABLE, **extra)
    first = retrain(settings, "initial").record.run_id
    assert retrain(settings, "daily", bars=2500).published
    return settings, first


def events(settings: Settings) -> list[Any]:
    return History(settings).view(limit=100).events


def test_an_unparseable_manifest_without_a_good_backup_is_replaced_by_the_next_candidate(
    published_pair: Settings, make_settings: Callable[..., Settings]
) -> None:
    settings = published_pair
    (settings.models_dir / store.MANIFEST).write_bytes(UNPARSEABLE)
    strict = retrain(make_settings(**{**PUBLISHABLE, "publish_floor_auc": 0.99, "min_auc_threshold": 0.99}),
                     "daily")
    assert strict.exit_code == 3 and "the active pair stays broken" in strict.record.error_message
    outcome = retrain(settings, "daily")
    assert outcome.exit_code == 0 and outcome.published
    assert load_bundle(settings.models_dir).manifest["run_id"] == outcome.record.run_id
    assert any("replaced a broken active pair" in w and "not valid JSON" in w for w in outcome.record.warnings)
    (publish,) = [e for e in events(settings) if e.kind == "publish" and e.run_id == outcome.record.run_id]
    assert "replaced a broken active pair" in publish.reason and "manifest.json is not valid JSON" in publish.reason


@pytest.mark.parametrize("broken", [UNPARSEABLE, INCOMPLETE], ids=["unparseable", "incomplete"])
def test_cli_retrain_auto_with_a_broken_manifest_restores_the_good_backup_first(backed_up, broken: bytes) -> None:
    settings, first = backed_up
    (settings.models_dir / store.MANIFEST).write_bytes(broken)
    result = runner.invoke(app, ["retrain"])  # --type auto: asks what is published before anything else
    assert result.exit_code == 0, result.output
    restore = [e for e in events(settings) if e.kind == "restore"]
    assert [e.run_id for e in restore] == [first] and "active pair was broken" in restore[0].reason
    run = recorded_runs(settings.data_dir)[-1]
    assert run.training_type == "initial" and run.status in ("success", "warning")  # broken counts as none published
    assert run.champion_auc is not None  # the restored pair was the champion it had to beat


@pytest.mark.parametrize("broken", [UNPARSEABLE, INCOMPLETE], ids=["unparseable", "incomplete"])
def test_cli_check_run_with_a_broken_manifest_and_no_state_file_restores_and_records(backed_up, broken: bytes) -> None:
    settings, first = backed_up
    (settings.models_dir / store.MANIFEST).write_bytes(broken)
    (settings.data_dir / scheduler_state.STATE_FILE).unlink()
    runs_before = len(recorded_runs(settings.data_dir))
    result = runner.invoke(app, ["check", "--run"])
    assert result.exit_code == 0, result.output
    assert [e.run_id for e in events(settings) if e.kind == "restore"] == [first]
    assert len(recorded_runs(settings.data_dir)) == runs_before + 1
    assert load_bundle(settings.models_dir).manifest["run_id"] == recorded_runs(settings.data_dir)[-1].run_id


def good_manifest(published_pair: Settings) -> tuple[Settings, dict[str, Any]]:
    settings = published_pair
    return settings, json.loads((settings.models_dir / store.MANIFEST).read_text())


@pytest.mark.parametrize("damage, needle", [
    (lambda m: m.pop("files"), "'files' is missing"),
    (lambda m: m["files"]["hmm"].pop("sha256"), "'files.hmm.sha256' is missing"),
    (lambda m: m["files"].__setitem__("xgboost", "model.ubj"), "'files.xgboost' must be an object, not str"),
    (lambda m: m["files"]["xgboost"].__setitem__("name", "../../elsewhere.ubj"),
     "'files.xgboost.name' must be a plain file name"),
    (lambda m: m["files"]["hmm"].__setitem__("bytes", "1234"), "'files.hmm.bytes' must be a whole number"),
    (lambda m: m.pop("run_id"), "'run_id' is missing"),
    (lambda m: m.__setitem__("features", "rsi_14"), "'features' must be a list of strings"),
    (lambda m: m["metrics"].pop("test_auc"), "'metrics.test_auc' is missing"),
    (lambda m: m["data"].__setitem__("end", "last Friday"), "'data.end' must be an ISO date and time"),
    (lambda m: m.pop("data"), "'data' is missing"),
    (lambda m: m.__setitem__("regime", ["low", "medium", "high"]), "'regime' must be an object"),
    (lambda m: m.__setitem__("created_at", 1767650400), "'created_at' must be an ISO date and time, not int"),
])
def test_a_manifest_missing_what_the_code_reads_is_refused_naming_file_and_key(
    published_pair: Settings, damage: Callable[[dict], Any], needle: str
) -> None:
    settings, manifest = good_manifest(published_pair)
    damage(manifest)
    path = settings.models_dir / store.MANIFEST
    path.write_bytes(store.manifest_bytes(manifest))
    with pytest.raises(ModelStoreError) as refused:
        store.read_manifest(settings.models_dir)
    assert str(path) in str(refused.value) and needle in str(refused.value)
    state = store.active_state(settings.models_dir)  # the one reader of what is published never raises
    assert state.manifest is None and state.broken and needle in state.problem and not state.published
    assert scheduler_state.model_state(settings).published is False
    assert default_training_type(settings) == "initial"
    with pytest.raises(ModelStoreError, match="is not a usable manifest"):
        load_bundle(settings.models_dir)


def test_a_manifest_from_an_older_version_still_parses_and_serves(published_pair: Settings) -> None:
    settings, manifest = good_manifest(published_pair)
    for key in ("feature_spec", "audit", "trigger", "status", "versions"):  # added after the first version, or optional
        manifest.pop(key)
    for key in ("signals", "test_auc_low", "test_auc_high", "validation_auc"):
        manifest["metrics"].pop(key)
    (settings.models_dir / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    state = store.active_state(settings.models_dir)
    assert state.published and state.problem is None
    assert load_bundle(settings.models_dir).feature_spec.plugins == ()


def test_a_manifest_without_files_is_restored_from_the_good_backup_by_the_next_retrain(backed_up) -> None:
    settings, first = backed_up
    manifest = json.loads((settings.models_dir / store.MANIFEST).read_text())
    del manifest["files"]
    (settings.models_dir / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    outcome = retrain(settings, "daily")
    assert outcome.exit_code == 0, outcome.record.error_message
    (restore,) = [e for e in events(settings) if e.kind == "restore"]
    assert restore.run_id == first and "'files' is missing" in restore.reason
    assert restore.manifest_before is None  # it did not parse, so it is not recorded as a pair
