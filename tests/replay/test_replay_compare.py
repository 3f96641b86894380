"""`autotrainer replay --compare` on the bundled bars: two configurations that differ in one rule (the publish
floor), replayed on a process pool and on a two-worker local Dask cluster, give exactly what replaying them
one by one in this process gives; bad input is refused before anything is written; no secret reaches a file."""

from __future__ import annotations

import html
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.replay.compare import Task, load_configurations, replay_task, run_tasks
from autotrainer.replay.comparison import comparison

# Small retrains (as tests/replay/test_replay.py's FAST) and a low confidence threshold so these weak models
# give signals and the money is not all zero.
FAST = """initial_bars = 3000
daily_bars = 3000
weekend_bars = 4000
emergency_bars = 3000
initial_rounds = 10
daily_rounds = 10
weekend_rounds = 10
emergency_rounds = 10
min_bars = 1000
emergency_rule = "seed"
confidence_threshold = 0.51
"""
# Monday 2025-11-10 05:00 to 19:00 WIB: the first configuration publishes its initial model (test AUC 0.473) and
# the emergency candidate (0.467) four hours later; the second's floor of 0.47 rejects the emergency candidate,
# so the two serve the same model until 09:00 and different ones after.
START = datetime(2025, 11, 9, 22, 0, tzinfo=timezone.utc)
END = datetime(2025, 11, 10, 12, 0, tzinfo=timezone.utc)
WINDOW = ["--from", "2025-11-10T05:00", "--to", "2025-11-10T19:00"]
SECRET = "Sup3rSecretPw"
# What differs between two replays of one configuration: where they ran, and how long they took (a retrain
# finishes its real duration after its simulated start, so the first model's wait shows the machine's load).
WHERE = ("out_dir", "report", "seconds", "mean_seconds", "hours_without_model")


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("configs")
    first, floor = folder / "every.toml", folder / "floor.toml"
    first.write_text(FAST + "publish_floor_auc = 0.0\n", encoding="utf-8")
    floor.write_text(FAST + f'publish_floor_auc = 0.47\ndatabase_url = "postgresql://bob:{SECRET}@db.example/x"\n',
                     encoding="utf-8")
    return [first, floor]


@pytest.fixture(scope="module")
def one_by_one(configs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The two configurations replayed one after the other in this process: what every runner must give."""
    out = tmp_path_factory.mktemp("one_by_one")
    configurations = load_configurations(configs, {}, None)
    tasks = _tasks(configurations, out)
    return {"configurations": configurations, "tasks": tasks, "results": [replay_task(task) for task in tasks],
            "out": out}


def _tasks(configurations: list[Any], out: Path) -> list[Task]:
    return [Task(c.name, c.settings, out / c.name, START, END) for c in configurations]


def _without_where(data: Any) -> Any:
    """`data` without the keys that name where and how long a replay ran."""
    if isinstance(data, dict):
        return {k: _without_where(v) for k, v in data.items() if k not in WHERE}
    if isinstance(data, list):
        return [_without_where(v) for v in data]
    return data


def _assert_identical(results: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert [r["name"] for r in results] == [e["name"] for e in expected]
    for result, wanted in zip(results, expected):
        assert _without_where(result["summary"]) == _without_where(wanted["summary"])
        for key in ("times", "target", "p_up", "net", "window"):
            np.testing.assert_array_equal(result[key], wanted[key])


def test_the_two_rules_serve_differently_and_the_pairing_measures_it(one_by_one: dict[str, Any]) -> None:
    every, floor = one_by_one["results"]
    assert every["summary"]["published"] > floor["summary"]["published"] >= 1  # the floor rejected a candidate
    pairs = comparison(one_by_one["configurations"], one_by_one["results"], START, END, "here", one_by_one["out"])
    pair = pairs["comparisons"][0]
    served = ~np.isnan(every["p_up"]) & ~np.isnan(floor["p_up"]) & every["window"] & ~np.isnan(every["target"])
    assert pair["a"] == "floor" and pair["b"] == "every" and pair["rows"] == int(served.sum()) > 0
    assert np.any(every["p_up"][served] != floor["p_up"][served])  # different models served some bars
    net = np.nansum(floor["net"][served] - every["net"][served])
    assert pair["net_total_difference"]["value"] == pytest.approx(net, abs=1e-4)
    assert pair["net_total_difference"]["low"] <= net <= pair["net_total_difference"]["high"]
    assert pair["sentence"].startswith("'floor' ") and f"over {pair['rows']:,} bars" in pair["sentence"]
    assert pairs["configurations"][1]["differs_from_first"] == {"publish_floor_auc": 0.47}  # no database address


def test_the_process_pool_gives_the_numbers_of_one_by_one_replays(configs: list[Path], one_by_one: dict[str, Any],
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "compare"
    result = CliRunner().invoke(app, ["replay", "--compare", *map(str, configs), *WINDOW, "--out", str(out), "--json"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["runner"] == "process pool of 2 workers"
    expected = comparison(one_by_one["configurations"], one_by_one["results"], START, END, shown["runner"], out)
    assert _without_where(shown["comparisons"]) == _without_where(expected["comparisons"])
    assert _without_where(shown["configurations"]) == _without_where(expected["configurations"])
    assert shown["verdict"] == expected["verdict"] and len(shown["verdict"]) == 1
    assert json.loads((out / "comparison.json").read_text()) == {k: v for k, v in shown.items() if k != "report"}
    page = (out / "comparison.html").read_text(encoding="utf-8")
    assert html.escape(shown["verdict"][0]) in page and '<meta name="viewport"' in page and "://" not in page
    for row, wanted in zip(shown["configurations"], one_by_one["results"]):  # each replay's own report beside it
        assert Path(row["report"]) == out / row["name"] / "report.html"
        assert f'<a href="{row["name"]}/report.html">' in page
        own = json.loads((out / row["name"] / "summary.json").read_text())
        assert _without_where(own) == _without_where(wanted["summary"])
    written = [p for p in out.rglob("*") if p.is_file() and p.suffix not in (".png", ".ubj", ".npz", ".db")]
    assert SECRET not in result.output and not [p for p in written if SECRET in p.read_text(errors="replace")]


def test_a_two_worker_dask_cluster_gives_the_numbers_of_one_by_one_replays(one_by_one: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    heard = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results, runner = run_tasks(_tasks(one_by_one["configurations"], tmp_path), cluster.scheduler_address,
                                    lambda r: heard.append(r["name"]))
    assert runner == f"dask scheduler {cluster.scheduler_address}"
    assert sorted(heard) == ["every", "floor"]
    _assert_identical(results, one_by_one["results"])
    log = (tmp_path / "floor" / "replay.log").read_text()  # a worker logs each run to the replay's own file
    assert log.count("Replay: ") == sum(results[1]["summary"]["retrains"].values())


def test_without_dask_installed_the_error_names_the_option_and_nothing_is_written(
        configs: list[Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # `import dask.distributed` fails as uninstalled
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["replay", "--compare", *map(str, configs), *WINDOW, "--out", str(out),
                                      "--dask", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2, result.output
    assert "--dask needs Dask's distributed scheduler" in result.output
    assert 'pip install "autotrainer[dask]"' in result.output
    assert not out.exists()


@pytest.mark.parametrize("case", ["one file", "missing", "not TOML", "unknown setting", "other bars"])
def test_bad_configurations_are_refused_naming_the_file_and_nothing_is_written(
        case: str, configs: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text({"not TOML": "initial_bars = [3000\n", "unknown setting": "publish_flor_auc = 0.5\n",
                    "other bars": FAST + 'timeframe = "H1"\n'}.get(case, ""), encoding="utf-8")
    files = {"one file": [configs[0]], "missing": [configs[0], tmp_path / "absent.toml"]}.get(case, [configs[0], bad])
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["replay", "--compare", *map(str, files), *WINDOW, "--out", str(out), "--json"])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    named = {"one file": "two or more configuration files", "missing": "absent.toml"}.get(case, "bad.toml")
    assert named in error
    assert not out.exists()
