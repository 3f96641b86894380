"""Crash safety, proven: real retrain and rollback processes SIGKILLed at random moments, many times,
including in the middle of their file swaps. After every kill the loader must return a verified pair
and the next run must succeed."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from conftest import PUBLISHABLE

from autotrainer.config import Settings
from autotrainer.history.service import History
from autotrainer.jobs.retrain import retrain
from autotrainer.jobs.rollback import rollback
from autotrainer.store.bundle import load_bundle

KILLS = 30
WRAPPER = Path(__file__).resolve().parents[1] / "slow_swaps.py"


def _kill_somewhere(args: list[str], cwd: Path, env: dict[str, str], rng: random.Random) -> bool:
    """Start the command and SIGKILL it at a random file swap or a random moment; False if it finished first."""
    process = subprocess.Popen([sys.executable, str(WRAPPER), *args], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    if rng.random() < 0.6:  # during the swaps: after the k-th rename has been announced
        target, swaps = rng.randint(1, 6), 0
        for line in process.stderr:
            swaps += line.startswith("SWAP ")
            if swaps >= target:
                time.sleep(rng.uniform(0, 0.02))  # before, during or just after this rename
                break
    else:
        time.sleep(rng.uniform(0.0, 1.5))
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    return killed


def test_sigkill_at_random_moments_never_leaves_a_broken_pair(make_settings: Callable[..., Settings],
                                                              tmp_path: Path) -> None:
    settings = make_settings(**PUBLISHABLE, champion_tolerance=0.5, signal_rule="off", backups_kept=3)
    assert retrain(settings, "initial").published and retrain(settings, "daily", bars=2500).published
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({f"AUTOTRAINER_{k.upper()}": str(v) for k, v in {**PUBLISHABLE, "champion_tolerance": 0.5, "signal_rule": "off",
                                                                 "backups_kept": 3}.items()})
    rng = random.Random(20261124)
    kills = attempts = 0
    while kills < KILLS and attempts < KILLS * 3:
        attempts += 1
        command = rng.choice([["retrain", "--type", "daily", "--bars", str(rng.choice([2500, 3000]))],
                              ["rollback", "--reason", "crash test"]])
        kills += _kill_somewhere(command, tmp_path, env, rng)
        bundle = load_bundle(settings.models_dir)  # raises unless manifest and both files agree
        assert bundle.manifest["files"]["xgboost"]["name"].endswith(f"{bundle.manifest['run_id']}.ubj")
        # ...and the following run succeeds.
        if attempts % 5 == 0:
            assert retrain(settings, "daily", bars=rng.choice([2500, 3000])).exit_code == 0
        else:
            rollback(settings, "after a kill")
        assert load_bundle(settings.models_dir).manifest["run_id"]
    assert kills == KILLS
    statuses = {r.status for r in History(settings).view(limit=1000).runs}
    assert "running" not in statuses  # every killed run was marked interrupted by the run after it
    leftovers = [p for p in settings.models_dir.rglob("*") if p.name.startswith(".") and ".staging" not in p.parts]
    assert leftovers == []
