"""`autotrainer check`: the light not-due path, the run lock between real processes, logs and scheduler files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest
from conftest import PUBLISHABLE, cli_env

from autotrainer.config import Settings
from autotrainer.history.service import History
from autotrainer.jobs.retrain import retrain
from autotrainer.lock import HOLDER_FILE
from autotrainer.schedule import state as scheduler_state

ROOT = Path(__file__).resolve().parents[2]
EXE = Path(sys.executable).with_name("autotrainer")
HEAVY = ("pandas", "numpy", "xgboost", "hmmlearn", "sklearn", "talib", "sqlalchemy", "scipy")


@pytest.mark.usefixtures("published_pair")  # a model exists and a retrain just happened: nothing is due
def test_not_due_check_imports_no_heavy_module(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "autotrainer", "check", "--json"],
                            cwd=tmp_path, env=cli_env(**PUBLISHABLE), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["due"] is False
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "autotrainer.schedule.policy" in imported
    assert sorted(m for m in imported if m.split(".")[0] in HEAVY) == []


def test_missing_state_is_rebuilt_from_history(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(**PUBLISHABLE)
    outcome = retrain(settings, "initial")
    saved = scheduler_state.load(settings)
    assert saved is not None and saved.last("initial").status == outcome.record.status
    (settings.data_dir / scheduler_state.STATE_FILE).unlink()
    assert scheduler_state.current(settings) == saved
    assert (settings.data_dir / scheduler_state.STATE_FILE).exists()


def _wait_for_lock_holder(data_dir: Path, process: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the first run ended before it was seen holding the lock"
        try:
            return json.loads((data_dir / HOLDER_FILE).read_text())
        except (OSError, ValueError):
            time.sleep(0.01)
    raise AssertionError("the first run never took the lock")


SLOW = {**PUBLISHABLE, "weekend_bars": 15000, "weekend_rounds": 80, "lock_timeout_seconds": 0.5}


def test_second_process_exits_5_promptly_while_one_trains(tmp_path: Path) -> None:
    env = cli_env(**SLOW)
    first = subprocess.Popen([str(EXE), "retrain", "--type", "weekend"], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    holder = _wait_for_lock_holder(tmp_path / "data", first)
    assert holder["pid"] == first.pid
    started = time.monotonic()
    second = subprocess.run([str(EXE), "check", "--run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    waited = time.monotonic() - started
    assert second.returncode == 5, second.stdout + second.stderr
    assert f"another retrain or rollback is running: pid {first.pid}" in second.stderr
    assert "since" in second.stderr and "waited 0.5 s" in second.stderr
    assert waited < 30  # it gave up after its timeout instead of queueing behind the training
    assert first.wait(timeout=120) == 0, first.stdout.read()
    statuses = [r.status for r in History(Settings(data_dir=tmp_path / "data")).view().runs]
    assert len(statuses) == 1  # the contender recorded nothing


def test_sigkill_of_the_holder_never_blocks_the_next_run(tmp_path: Path) -> None:
    env = cli_env(**SLOW)
    victim = subprocess.Popen([str(EXE), "retrain", "--type", "weekend"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_lock_holder(tmp_path / "data", victim)
    log = tmp_path / "logs" / "autotrainer.log"
    deadline = time.monotonic() + 60
    while "Fetching" not in (log.read_text() if log.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.01)  # the run has recorded itself as 'running' and is loading bars
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    after = subprocess.run([str(EXE), "retrain", "--type", "daily"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, timeout=120)
    assert after.returncode == 0, after.stdout + after.stderr
    runs = History(Settings(data_dir=tmp_path / "data")).view().runs
    assert [r.status for r in runs][1:] == ["interrupted"]  # the killed run is not left 'running'
    assert runs[0].status in ("success", "warning")


def test_log_file_keeps_every_runs_lines(tmp_path: Path) -> None:
    env = cli_env(**PUBLISHABLE)
    subprocess.run([str(EXE), "retrain"], cwd=tmp_path, env=env, capture_output=True, timeout=120, check=True)
    subprocess.run([str(EXE), "check"], cwd=tmp_path, env=env, capture_output=True, timeout=60, check=True)
    log = (tmp_path / "logs" / "autotrainer.log").read_text()
    for line in ("AUTO-RETRAINING STARTED", "Received 3000 bars", "Test AUC=", "Models published", "Check: not due"):
        assert line in log
    assert re.search(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WIB\] INFO pid \d+ \[retrain\] ", log, re.M)


def test_crontab_line_is_the_one_the_readme_shows() -> None:
    entry = [line for line in (ROOT / "cron" / "autotrainer.crontab").read_text().splitlines()
             if line and not line.startswith("#")]
    assert entry == ['*/15 * * * * cd "@PROJECT_DIR@" && .venv/bin/autotrainer check --run >> logs/cron.log 2>&1',
                     '7 * * * * cd "@PROJECT_DIR@" && .venv/bin/autotrainer auc --live >> logs/cron.log 2>&1']
    for line in entry:
        assert line.replace("@PROJECT_DIR@", "/path/to/autotrainer") in (ROOT / "README.md").read_text()


def test_install_cron_adds_one_entry_and_keeps_the_others(tmp_path: Path) -> None:
    table = tmp_path / "crontab.txt"
    table.write_text("0 1 * * * /usr/bin/backup\n")
    fake = tmp_path / "bin" / "crontab"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nif [ "$1" = "-l" ]; then cat "{table}"; else cat > "{table}.new" && mv "{table}.new" "{table}"; fi\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    for _ in range(2):  # installing twice leaves one entry
        result = subprocess.run(["bash", str(ROOT / "scripts" / "install-cron.sh")], env=env, capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 0, result.stderr
    lines = table.read_text().splitlines()
    assert lines == ["0 1 * * * /usr/bin/backup",
                     f'*/15 * * * * cd "{ROOT}" && .venv/bin/autotrainer check --run >> logs/cron.log 2>&1',
                     f'7 * * * * cd "{ROOT}" && .venv/bin/autotrainer auc --live >> logs/cron.log 2>&1']
    assert "Remove with:" in result.stdout


NS = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}


def test_task_scheduler_xml_has_the_required_elements() -> None:
    task = ET.parse(ROOT / "cron" / "autotrainer-task.xml").getroot()
    assert task.tag == f"{{{NS['t']}}}Task" and task.get("version") in ("1.2", "1.3", "1.4")

    def one(path: str) -> ET.Element:
        found = task.findall(path, NS)
        assert len(found) == 1, path
        return found[0]

    # Required by the schema: Actions with an Exec and its Command; a trigger needs a StartBoundary.
    assert one("t:Actions/t:Exec/t:Command").text == r"%SystemRoot%\System32\cmd.exe"  # for the output file
    # The command and the logon type are filled in per task by install-task.ps1 (test_windows_task.py checks both).
    assert r'"@PROJECT_DIR@\.venv\Scripts\autotrainer.exe" @COMMAND@ >>' in one("t:Actions/t:Exec/t:Arguments").text
    assert one("t:Actions/t:Exec/t:WorkingDirectory").text == "@PROJECT_DIR@"
    assert one("t:Triggers/t:TimeTrigger/t:StartBoundary").text
    assert one("t:Triggers/t:TimeTrigger/t:Repetition/t:Interval").text == "PT15M"  # every 15 minutes
    assert task.find("t:Triggers/t:TimeTrigger/t:Repetition/t:Duration", NS) is None  # ...indefinitely
    assert one("t:Settings/t:MultipleInstancesPolicy").text == "IgnoreNew"  # never two instances
    assert one("t:Principals/t:Principal/t:LogonType").text == "@LOGON_TYPE@"  # InteractiveToken for MT5, S4U for files
    assert one("t:Actions").get("Context") == one("t:Principals/t:Principal").get("id")
    assert "schtasks /Create /TN $Name /XML" in (ROOT / "scripts" / "install-task.ps1").read_text()  # once per task
