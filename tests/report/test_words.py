"""The words and numbers operators read: one outcome vocabulary, the thresholds a model was published under,
help that fits 80 columns, plain output that honours COLUMNS, and messages that name the real reason."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from conftest import PUBLISHABLE, learnable_bars, write_bars
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import Settings
from autotrainer.history.service import History
from autotrainer.jobs import monitor
from autotrainer.jobs.retrain import retrain
from autotrainer.jobs.rollback import rollback
from autotrainer.report import auc as auc_report, charts
from autotrainer.report.help import EXIT_CODES
from autotrainer.store import pairs as store

runner = CliRunner()
COMMANDS = ("retrain", "check", "rollback", "history", "auc", "replay", "bars", "audit")


def config_file(tmp_path: Path, **values: object) -> None:
    lines = [f'{k} = {json.dumps(str(v) if isinstance(v, Path) else v)}' for k, v in values.items()]
    (tmp_path / "autotrainer.toml").write_text("\n".join(lines) + "\n")


def rendered(renderable: object, width: int = 200) -> str:
    from rich.console import Console

    console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the test
    console.print(renderable)
    return console.export_text()


# --- item 18: help, widths, messages, decimals ---------------------------------------------------------------

@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_at_80_columns_has_no_bool_placeholder_and_no_word_broken(command: str) -> None:
    result = runner.invoke(app, [command, "--help"] if command else ["--help"], env={"COLUMNS": "80"},
                           terminal_width=80)
    assert result.exit_code == 0
    assert "<bool>" not in result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    assert "weeken" not in result.output.replace("weekend", "")  # the --type choices wrap on spaces


@pytest.mark.parametrize("command", ["retrain", "rollback"])
def test_exit_code_8_is_in_the_help_of_the_commands_that_return_it(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}, terminal_width=200)
    assert "8 " in EXIT_CODES[command] and "IS live" in EXIT_CODES[command]
    assert re.search(r"; 8 (published|restored) \(it IS live\)", " ".join(result.output.split()))


def test_audit_output_honours_columns_80() -> None:
    result = runner.invoke(app, ["audit", "--bars", "1200"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert re.match(r"^ret_1\s+built-in\s+yes\s+0\.\d{3}", next(line for line in lines if line.startswith("ret_1")))
    assert any(line.startswith("CLEAN: 77 features causal") for line in lines)


def test_replay_with_a_bad_from_names_the_flag_and_the_form() -> None:
    result = runner.invoke(app, ["replay", "--from", "yesterday"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: --from 'yesterday' is not an ISO date or time (e.g. 2025-11-03 or 2025-11-03T05:00, WIB unless a "
        "zone is given)"]


@pytest.fixture
def two_published(two_published_pairs: Settings) -> Settings:
    """Model A, then model B published over it: A is the only backup (a copy of the pairs trained once)."""
    return two_published_pairs


def test_rollback_prints_the_test_auc_with_4_decimals(two_published: Settings) -> None:
    result = runner.invoke(app, ["rollback", "--reason", "bad fills"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Restored backup \S+ \(run \S+, test AUC 0\.\d{4}\)", result.output), result.output


# --- item 19: a de-duplicated backup keeps its printed name; check --now before the last run -------------------

def test_a_backup_renamed_by_de_duplication_still_answers_to_the_name_printed_earlier(two_published: Settings) -> None:
    settings = two_published
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    first = rollback(settings, "to A", now=start)  # restores A from its backup; B is backed up
    a_name, a_run = first.restored.name, first.restored.manifest["run_id"]
    rollback(settings, "back to B", now=start + timedelta(minutes=1))  # A's backup is renamed to now
    assert a_name not in [p.name for p in store.list_backups(settings.models_dir)]
    again = rollback(settings, "to A by the name printed first", to=a_name, now=start + timedelta(minutes=2))
    assert again.restored.manifest["run_id"] == a_run
    assert store.read_manifest(settings.models_dir)["run_id"] == a_run


def test_check_now_before_the_last_run_says_so_instead_of_negative_hours(two_published: Settings) -> None:
    result = runner.invoke(app, ["check", "--now", "2020-01-06T05:10"])
    assert result.exit_code == 0, result.output
    assert "the given time is before the last run at" in result.output
    assert not re.search(r"-\d+\.\d h", result.output), result.output
    data = json.loads(runner.invoke(app, ["check", "--now", "2020-01-06T05:10", "--json"]).stdout)
    assert data["due"] is False and data["hold"] == "before_last_run"


# --- item 15: the thresholds a model was published under -------------------------------------------------------

def test_auc_after_the_readmes_lowered_floor_demo_judges_by_the_floor_it_was_published_under(
        make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    settings = make_settings(**{**PUBLISHABLE, "publish_floor_auc": 0.3})  # the one-run override
    published = retrain(settings, "initial")
    assert published.published and published.record.auc_floor == 0.3
    manifest = store.read_manifest(settings.models_dir)
    assert manifest["thresholds"]["floor"] == 0.3 and manifest["thresholds"]["min_auc_threshold"] == 0.5
    auc = manifest["metrics"]["test_auc"]
    config_file(tmp_path, **{**PUBLISHABLE, "publish_floor_auc": round(auc + 0.01, 4),
                             "min_auc_threshold": round(auc + 0.02, 4)})  # today's floor is above the model
    result = runner.invoke(app, ["auc", "--json"])
    data = json.loads(result.stdout)
    assert result.exit_code != 7 and data["status"] in ("OK", "WARNING") and data["status_today"] == "BELOW FLOOR"
    assert data["thresholds"]["floor"] == 0.3 and data["auc_band"] == {"OK": "success", "WARNING": "warning"}[
        data["status"]]
    panel = runner.invoke(app, ["auc"], env={"COLUMNS": "250"}).output
    assert "published under: OK >= 0.5, WARNING >= 0.3" in panel and "by today's settings: BELOW FLOOR" in panel


def test_auc_gives_the_emergency_rules_own_reason_not_the_retrain_window(two_published: Settings) -> None:
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    evening = tomorrow.replace(hour=15, minute=0, second=0, microsecond=0)  # 22:00 WIB: outside every window
    result = monitor.measure(two_published, now=evening)
    text = rendered(auc_report.auc_panel(result, two_published), 250)
    assert "outside the retrain window" not in text
    assert "would not fire: no live measurement of the active model" in text


def test_history_plot_judges_each_run_by_its_own_thresholds_and_marks_the_live_model_and_rollbacks(
        two_published: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rollback(two_published, "bad fills")
    drawn: dict[str, list[str]] = {}

    def keep_legend(fig, path):  # noqa: ANN001 - matplotlib objects
        drawn["labels"] = fig.axes[0].get_legend_handles_labels()[1]
        return path

    monkeypatch.setattr(charts, "save", keep_legend)
    config_file(tmp_path, **{**PUBLISHABLE, "publish_floor_auc": 0.52, "min_auc_threshold": 0.65})
    result = runner.invoke(app, ["history", "--plot", str(tmp_path / "h.png")])
    assert result.exit_code == 0, result.output
    labels = drawn["labels"]
    assert "publishing floor the run was judged by" in labels and "today's publishing floor 0.52 " \
        "(publish_floor_auc)" in labels
    assert "live model now" in labels and "rollback (by the operator)" in labels


def test_date_ticks_of_a_short_history_show_seconds_with_their_minutes() -> None:
    plt = charts.pyplot()
    fig, ax = plt.subplots()
    start = datetime(2026, 12, 1, 15, 7, 58, tzinfo=timezone.utc)
    ax.plot([start, start + timedelta(seconds=130)], [0.5, 0.6])
    charts.time_axis(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    plt.close(fig)
    assert labels and all(re.fullmatch(r"\d\d:\d\d:\d\d", label) for label in labels), labels


# --- item 14: one vocabulary -------------------------------------------------------------------------------------

def test_a_published_warning_run_reads_published_with_its_band_everywhere(
        make_settings: Callable[..., Settings], sample_frame: pd.DataFrame, tmp_path: Path) -> None:
    source = write_bars(learnable_bars(sample_frame.iloc[-4000:].reset_index(drop=True)), tmp_path / "p.csv")
    settings = make_settings(**{**PUBLISHABLE, "min_auc_threshold": 0.99}, source=str(source))
    assert retrain(settings, "initial", bars=4000).record.status == "warning"  # the seed's value, in the column
    run = json.loads(runner.invoke(app, ["history", "--json"]).stdout)["items"][-1]
    assert (run["status"], run["outcome"], run["auc_band"]) == ("warning", "published", "warning")
    table = runner.invoke(app, ["history"], env={"COLUMNS": "200"}).output
    assert "published (AUC warning)" in table and "last published 20" in table and "last success" not in table
    csv_rows = runner.invoke(app, ["history", "--csv"]).stdout.splitlines()
    assert csv_rows[0].endswith(",outcome,auc_band,auc_floor,auc_target,confidence_threshold,edge_verdict,"
                                "edge_signals,edge_mean,edge_low,edge_high")
    last = next(csv.DictReader(csv_rows[:1] + csv_rows[-1:]))
    assert [last[k] for k in ("outcome", "auc_band", "auc_floor", "auc_target")] == ["published", "warning", "0.0", "0.99"]
    assert last["edge_verdict"] == run["edge_verdict"] and last["confidence_threshold"] == "0.6"
    assert len(History(settings).view(status=("warning",)).runs) == 1
    assert "1 runs, 100% published" in runner.invoke(app, ["history", "--status", "published"]).output
    bad = runner.invoke(app, ["history", "--status", "bogus"])
    assert bad.exit_code == 2 and "--status 'bogus' is not one of: published, rejected" in bad.output


def test_check_says_a_rejected_first_attempt_ended_rejected(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**{**PUBLISHABLE, "publish_floor_auc": 0.99, "min_auc_threshold": 0.995})
    outcome = retrain(settings, "initial")
    assert outcome.record.status == "rolled_back" and outcome.record.auc_band == "below floor"
    result = runner.invoke(app, ["check"])
    assert "ended 'rejected'" in result.output and "rolled_back" not in result.output


def test_thresholds_of_an_older_or_damaged_manifest(make_settings: Callable[..., Settings]) -> None:
    from autotrainer.store.manifest import published_thresholds, thresholds_of

    settings = make_settings(publish_floor_auc=0.52, min_auc_threshold=0.65)
    today = published_thresholds(settings)
    older = thresholds_of({"settings": {"rollback_auc_threshold": 0.5, "min_auc_threshold": 0.6}}, settings)
    assert (older["floor"], older["min_auc_threshold"]) == (0.5, 0.6)  # judged by its settings snapshot
    damaged = {"thresholds": {"floor": "x", "min_auc_threshold": True, "champion_rule": 3}}
    assert thresholds_of(damaged, settings) == today == thresholds_of({}, settings)
