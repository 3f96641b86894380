"""Rollback and champion vs challenger on the real bars: byte-identical, undoable, refusing what is broken."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE, TwoPairs, learnable_bars, write_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.errors import ModelStoreError
from autotrainer.history.service import History
from autotrainer.jobs.retrain import retrain
from autotrainer.jobs.rollback import list_backups, rollback
from autotrainer.store import pairs as store
from autotrainer.store.bundle import load_bundle

runner = CliRunner()


def active_files(models_dir: Path) -> dict[str, bytes]:
    """The manifest and the two files it names, with their bytes."""
    manifest = store.read_manifest(models_dir)
    names = [store.MANIFEST] + [entry["name"] for entry in manifest["files"].values()]
    return {name: (models_dir / name).read_bytes() for name in names}


@pytest.fixture
def two_models(two_trained_pairs: TwoPairs,
               two_published_pairs: Settings) -> tuple[Settings, dict[str, bytes], dict[str, bytes]]:
    """Model A published, then model B (trained on fewer bars) published over it: A is the newest backup."""
    settings = two_published_pairs
    return settings, active_files(two_trained_pairs.first_models), active_files(settings.models_dir)


def test_rollback_restores_byte_identical_files_and_is_undoable(two_models) -> None:
    settings, first, second = two_models
    result = rollback(settings, "bad fills overnight")
    assert active_files(settings.models_dir) == first
    assert load_bundle(settings.models_dir).manifest["run_id"] == json.loads(first[store.MANIFEST])["run_id"]
    assert result.replaced_backup is not None and store.read_manifest(result.replaced_backup)["run_id"] == \
        json.loads(second[store.MANIFEST])["run_id"]
    rollback(settings, "undo")  # the newest backup is now the pair we replaced
    assert active_files(settings.models_dir) == second
    events = [e for e in History(settings).view().events if e.kind == "rollback"]
    assert [e.reason for e in events] == ["undo", "bad fills overnight"]
    assert events[1].manifest_before["run_id"] == json.loads(second[store.MANIFEST])["run_id"]
    assert events[1].manifest_after["run_id"] == json.loads(first[store.MANIFEST])["run_id"]


def test_rollback_to_a_named_backup_and_the_list(two_models, tmp_path: Path) -> None:
    settings, first, _ = two_models
    (name,) = [b.name for b in list_backups(settings)]
    (tmp_path / "autotrainer.toml").write_text(f'models_dir = "{settings.models_dir.as_posix()}"\n'
                                               f'data_dir = "{settings.data_dir.as_posix()}"\n')
    listed = json.loads(runner.invoke(app, ["rollback", "--list", "--json"]).stdout)
    assert [(b["name"], b["verifies"], b["run_id"]) for b in listed] == [
        (name, True, json.loads(first[store.MANIFEST])["run_id"])]
    assert "yes" in runner.invoke(app, ["rollback", "--list"]).stdout
    unknown = runner.invoke(app, ["rollback", "--to", "19990101_000000"])
    assert unknown.exit_code == 2 and f"available: {name}" in unknown.output
    result = runner.invoke(app, ["rollback", "--to", name, "--reason", "named"])
    assert result.exit_code == 0, result.output
    assert active_files(settings.models_dir) == first


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_corrupt_backup_is_refused_and_nothing_changes(two_models, tmp_path: Path) -> None:
    settings, _, _ = two_models
    (backup,) = store.list_backups(settings.models_dir)
    xgb_file = backup / store.read_manifest(backup)["files"]["xgboost"]["name"]
    data = bytearray(xgb_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    xgb_file.write_bytes(bytes(data))
    before = snapshot(settings.models_dir)
    with pytest.raises(ModelStoreError, match=r"does not match .*manifest.json .*refusing to use it"):
        rollback(settings, "try")
    assert snapshot(settings.models_dir) == before
    (tmp_path / "autotrainer.toml").write_text(f'models_dir = "{settings.models_dir.as_posix()}"\n'
                                               f'data_dir = "{settings.data_dir.as_posix()}"\n')
    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 2 and "rollback refused" in result.output and "nothing changed" in result.output
    assert "no" in runner.invoke(app, ["rollback", "--list"]).stdout
    assert snapshot(settings.models_dir) == before


def test_backup_with_features_this_version_cannot_compute_is_refused(two_models) -> None:
    settings, _, _ = two_models
    (backup,) = store.list_backups(settings.models_dir)
    manifest = store.read_manifest(backup)
    manifest["features"] = manifest["features"] + ["orderflow_imbalance_v9"]
    (backup / store.MANIFEST).write_bytes(store.manifest_bytes(manifest))
    before = snapshot(settings.models_dir)
    with pytest.raises(ModelStoreError, match="cannot compute: orderflow_imbalance_v9"):
        rollback(settings, "try")
    assert snapshot(settings.models_dir) == before


def test_no_backup_is_a_clear_refusal(published_pair: Settings) -> None:
    settings = published_pair
    with pytest.raises(ModelStoreError, match="no backup to roll back to"):
        rollback(settings, "nothing to go back to")


def test_a_corrupted_active_pair_is_restored_from_the_newest_good_backup(two_models) -> None:
    settings, first, _ = two_models
    active = store.read_manifest(settings.models_dir)
    (settings.models_dir / active["files"]["hmm"]["name"]).write_text("{}")  # someone damaged the live file
    outcome = retrain(replace(settings, publish_floor_auc=0.99, min_auc_threshold=0.99), "daily")
    assert outcome.exit_code == 3  # the new candidate is rejected, but the bot is left a verified pair
    assert active_files(settings.models_dir) == first
    assert [e.kind for e in History(settings).view().events][:2] == ["rejection", "restore"]


def test_challenger_worse_than_the_champion_is_rejected(
    make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    real = sample_frame.iloc[-4000:].reset_index(drop=True)
    patterned = write_bars(learnable_bars(real), tmp_path / "patterned.csv")
    # Same bars, but the pattern only appears in what will be the test window: nothing to learn from.
    late = write_bars(learnable_bars(real, from_fraction=0.72), tmp_path / "late.csv")
    champion = retrain(make_settings(**PUBLISHABLE, source=str(patterned)), "initial", bars=4000)
    assert champion.published and champion.record.test_auc > 0.7 and champion.record.status == "success"
    before = active_files(make_settings().models_dir)
    challenger = retrain(make_settings(**PUBLISHABLE, source=str(late)), "daily", bars=4000)
    record = challenger.record
    assert challenger.exit_code == 3 and record.status == "rolled_back"
    assert record.champion_auc > 0.7 and record.test_auc < 0.6
    assert "is demonstrably worse than champion" in record.error_message and "on the same" in record.error_message
    assert record.champion_auc_difference < 0 and record.champion_p_value < 0.05  # the paired test's evidence
    assert record.champion_difference_low <= record.champion_auc_difference <= record.champion_difference_high
    assert active_files(make_settings().models_dir) == before
    # A challenger as good as the champion on the same bars is published.
    equal = retrain(make_settings(**PUBLISHABLE, source=str(patterned)), "daily", bars=4000)
    assert equal.published and equal.record.champion_auc == pytest.approx(equal.record.test_auc, abs=0.02)


def test_a_broken_active_pair_without_a_good_backup_is_replaced_by_the_next_candidate(
    published_pair: Settings
) -> None:
    settings = published_pair
    active = store.read_manifest(settings.models_dir)
    (settings.models_dir / active["files"]["xgboost"]["name"]).write_bytes(b"damaged")
    with pytest.raises(ModelStoreError):
        load_bundle(settings.models_dir)  # the bot cannot load it, and there is no backup to restore
    outcome = retrain(settings, "daily")
    assert outcome.exit_code == 0 and outcome.published and outcome.record.champion_auc is None
    assert load_bundle(settings.models_dir).manifest["run_id"] == outcome.record.run_id
    assert store.list_backups(settings.models_dir) == []  # the broken pair was not kept


@pytest.mark.parametrize("fault", [OSError("No space left on device (outbox)"), RuntimeError("bug in the event writer")])
def test_a_rollback_whose_event_cannot_be_recorded_says_the_restored_pair_is_live(
    two_models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Exception
) -> None:
    settings, first, _ = two_models
    (tmp_path / "autotrainer.toml").write_text(f'models_dir = "{settings.models_dir.as_posix()}"\n'
                                               f'data_dir = "{settings.data_dir.as_posix()}"\n')

    def failing(self: History, event) -> None:
        raise fault

    monkeypatch.setattr(History, "add_event", failing)
    result = runner.invoke(app, ["rollback", "--reason", "bad fills", "--json"])
    assert active_files(settings.models_dir) == first  # the swap happened
    assert result.exit_code == 8, result.output
    assert "nothing changed" not in result.output and "refused" not in result.output
    data = json.loads(result.stdout)
    assert data["run_id"] == json.loads(first[store.MANIFEST])["run_id"]
    assert any("IS live" in w and str(fault) in w for w in data["warnings"])


def run_ids_of_backups(models_dir: Path) -> list[str]:
    return [store.read_manifest(b)["run_id"] for b in store.list_backups(models_dir)]


def test_rolling_back_and_forth_keeps_every_distinct_model_and_each_rollback_undoes_the_last(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(**PUBLISHABLE, champion_tolerance=0.5, backups_kept=3)
    a, b, c = (retrain(settings, kind, bars=bars).record.run_id
               for kind, bars in (("initial", None), ("daily", 2500), ("daily", 2800)))
    actives = []
    for _ in range(3):
        rollback(settings, "back and forth")
        actives.append(store.read_manifest(settings.models_dir)["run_id"])
        assert sorted(run_ids_of_backups(settings.models_dir)) == sorted({a, b, c})  # no duplicate, none pruned
    assert actives == [b, c, b]
    (tmp_path / "autotrainer.toml").write_text(f'models_dir = "{settings.models_dir.as_posix()}"\n'
                                               f'data_dir = "{settings.data_dir.as_posix()}"\n')
    listed = json.loads(runner.invoke(app, ["rollback", "--list", "--json"]).stdout)
    assert [(row["run_id"], row["active"]) for row in listed] == [(c, False), (b, True), (a, False)]
    refused = runner.invoke(app, ["rollback", "--to", listed[1]["name"]])
    assert refused.exit_code == 2 and "holds the active pair" in refused.output and "nothing changed" in refused.output


@pytest.mark.parametrize("columns", [80, 120])
def test_rollback_list_fits_the_console_and_never_cuts_a_backup_name(two_models, tmp_path: Path, columns: int) -> None:
    settings, _, _ = two_models
    rollback(settings, "so that one backup is active and one is not")
    (backup, *_) = store.list_backups(settings.models_dir)
    broken = backup.with_name(backup.name + "_07")  # a long name, and a long problem to wrap
    broken.mkdir()
    (broken / store.MANIFEST).write_text('{"format": "autotrainer-manifest/1", "run_id": ')  # cut short
    (tmp_path / "autotrainer.toml").write_text(f'models_dir = "{settings.models_dir.as_posix()}"\n'
                                               f'data_dir = "{settings.data_dir.as_posix()}"\n')
    result = runner.invoke(app, ["rollback", "--list"], env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    rows = {line.split()[0]: line.split()[1:] for line in lines if line.split()}
    names = [path.name for path in store.list_backups(settings.models_dir)]
    assert len(names) == 3 and all(name in rows for name in names)  # each whole at the start of its row, for --to
    assert [info.name for info in list_backups(settings) if info.active] == [names[2]]
    assert rows[names[2]][0] == "yes"  # the active mark
    assert rows[broken.name][-1] != "yes" and "no:" in rows[broken.name]  # does not verify; the reason wraps below
