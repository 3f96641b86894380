"""A storm of SIGKILLs on real `autotrainer retrain` and `autotrainer rollback` processes (POSIX only).

    python scripts/kill_storm.py --kills 200 [--seed N] [--dir DIR]

Each round starts a real command on the bundled bars (small, publishable settings in a private home, so a
run takes a second or two) and SIGKILLs it: after its k-th file swap (the publish or rollback window, most
often), right after its swap made a pair live (before it is recorded), right after its "started" banner, or
at a random moment. After each kill it checks the pair the bot would load. The next command is the recovery
path (it settles what the killed one left, if it gets that far); every third round a recovery command runs
to its end (a rollback or a retrain, sometimes followed by `autotrainer check` and `autotrainer history
--json`) and the history is checked against what happened. It counts:

- torn pairs: the active manifest does not verify (checksums), or the model files are not its pair;
- missing runs: a process that printed its "started" banner has no record;
- misrecorded runs: a run whose pair went live is not recorded published with its test AUC and a publish
  event (a live pair recorded 'interrupted' counts here too), or a run is still 'running' after recovery.

All three must be 0; the exit code is 1 otherwise. Not part of the test suite (it takes a while).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETTINGS = {"publish_floor_auc": 0.0, "min_auc_threshold": 0.5, "daily_bars": 3000, "initial_bars": 3000,
            "daily_rounds": 10, "initial_rounds": 10, "allow_stale_data": True, "champion_tolerance": 0.5,
            "backups_kept": 3, "source": "sample"}
# The command with every file rename announced (and slowed a little), so a kill can land inside the swaps.
ANNOUNCED = """
import sys, time
from autotrainer import fsutil
real = fsutil.replace
def announced(src, dst, attempts=20):
    sys.stdout.write(f"SWAP {dst.name}\\n"); sys.stdout.flush(); time.sleep(0.01); real(src, dst, attempts)
fsutil.replace = announced
sys.argv[0] = "autotrainer"
from autotrainer.cli import main
main()
"""
CHECKOUT = Path(__file__).resolve().parents[1]  # the storm exercises the checkout it lives in
sys.path.insert(0, str(CHECKOUT))
RECOVER_EVERY = 3  # rounds; every third recovery also runs `check` and `history --json`
STARTED = re.compile(r"AUTO-RETRAINING STARTED \(run (\S+)\)")
LIVE = re.compile(r"Models published to|Restored backup")  # just after the swap, before it is recorded


@dataclass
class Tally:
    kills: int = 0
    finished_first: int = 0
    commands: dict[str, int] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    torn: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    misrecorded: list[str] = field(default_factory=list)
    started: set[str] = field(default_factory=set)  # run ids whose banner was printed
    live_manifests: dict[str, dict[str, Any]] = field(default_factory=dict)  # every pair seen live, by run id


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({f"AUTOTRAINER_{k.upper()}": str(v) for k, v in SETTINGS.items()})
    env.update({"AUTOTRAINER_MODELS_DIR": str(home / "models"), "AUTOTRAINER_DATA_DIR": str(home / "data"),
                "PYTHONUNBUFFERED": "1", "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))})
    return env


def run(args: list[str], home: Path, env: dict[str, str], tally: Tally) -> subprocess.CompletedProcess[str]:
    """A command run to its end (the recovery path); its banner's run id counts as started."""
    done = subprocess.run([sys.executable, "-c", ANNOUNCED, *args], cwd=home, env=env, capture_output=True,
                          text=True, timeout=600)
    tally.started.update(STARTED.findall(done.stdout))
    return done


def kill_somewhere(args: list[str], home: Path, env: dict[str, str], rng: random.Random, tally: Tally) -> bool:
    """Start the command and SIGKILL it at a chosen moment; False if it finished first."""
    process = subprocess.Popen([sys.executable, "-c", ANNOUNCED, *args], cwd=home, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)
        lines.put("")

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    mode = rng.choices(["swap", "live", "banner", "moment"], weights=[45, 20, 15, 20])[0]
    tally.modes[mode] = tally.modes.get(mode, 0) + 1
    if mode == "moment":
        time.sleep(rng.uniform(0.0, 3.0))
    else:
        target, swaps, deadline = rng.randint(1, 7), 0, time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line == "":
                break
            seen.append(line)
            swaps += line.startswith("SWAP ")
            if ((mode == "swap" and swaps >= target) or (mode == "banner" and STARTED.search(line))
                    or (mode == "live" and LIVE.search(line))):
                time.sleep(rng.uniform(0, 0.015))  # before, during or just after that step
                break
    killed = process.poll() is None
    if killed:
        process.send_signal(signal.SIGKILL)
    process.wait()
    reader.join(timeout=30)
    while not lines.empty():
        seen.append(lines.get())
    tally.started.update(STARTED.findall("".join(seen)))
    return killed


def check_pair(home: Path, tally: Tally, when: str) -> None:
    """(a) The pair the bot would load right now verifies and the model files are exactly its pair."""
    from autotrainer.store import pairs as store

    models = home / "models"
    state = store.active_state(models)
    if not state.published:
        tally.torn.append(f"{when}: {state.problem or 'no pair published'}")
        return
    manifest = state.manifest
    tally.live_manifests[manifest["run_id"]] = manifest
    names = {manifest["files"][role]["name"] for role in store.roles(manifest)}
    present = {p.name for p in models.iterdir()
               if p.is_file() and p.name.startswith(("xgboost_model-", "hmm_regime-", "guard-"))}
    if not names <= present:
        tally.torn.append(f"{when}: files {sorted(names - present)} of run {manifest['run_id']} are missing")


def check_history(home: Path, tally: Tally, when: str) -> None:
    """(b) every started run has a record; (c) every pair that went live is recorded published, with its test
    AUC and a publish event, and nothing is left 'running' once the recovery path has run."""
    from autotrainer.config import load_settings
    from autotrainer.history.service import History

    settings = load_settings(None, {"models_dir": home / "models", "data_dir": home / "data"}, env={})
    history = History(settings, read_only=True)
    try:
        view = history.view(limit=1_000_000)
    finally:
        history.close()
    runs = {run.run_id: run for run in view.runs}
    published = {e.run_id for e in view.events if e.kind == "publish"}
    for run_id in sorted(tally.started - runs.keys()):
        if f"missing {run_id}" not in tally.missing:
            tally.missing.append(f"missing {run_id}")
    problems = [f"{run.run_id} still running" for run in runs.values() if run.status == "running"]
    for run_id, manifest in tally.live_manifests.items():
        run = runs.get(run_id)
        if run is None:
            problems.append(f"{run_id} went live but has no record")
        elif run.status not in ("success", "warning"):
            problems.append(f"{run_id} went live but is recorded {run.status}")
        elif run.test_auc != manifest["metrics"]["test_auc"]:
            problems.append(f"{run_id} test AUC {run.test_auc} != manifest {manifest['metrics']['test_auc']}")
        if run is not None and run_id not in published:
            problems.append(f"{run_id} went live but has no publish event")
    for problem in problems:  # each counted once, however many checks see it again
        if not any(line.startswith(problem + " (seen ") for line in tally.misrecorded):
            tally.misrecorded.append(f"{problem} (seen {when})")


def recover(home: Path, env: dict[str, str], rng: random.Random, tally: Tally, looks: bool) -> None:
    """The next command after a kill, run to its end as an operator or the scheduler would; with `looks`,
    also what an operator looks with (`check`, `history --json`)."""
    command = (["rollback", "--reason", "after a kill"] if rng.random() < 0.7
               else ["retrain", "--type", "daily", "--bars", str(rng.choice([2500, 3000]))])
    done = run(command, home, env, tally)
    if done.returncode not in (0, 2, 3, 5):  # 2: nothing to roll back to; 3: rejected
        tally.misrecorded.append(f"recovery {' '.join(command)} exited {done.returncode}: {done.stdout[-300:]}")
    if not looks:
        return
    done = run(["check"], home, env, tally)
    if done.returncode != 0 or "Traceback" in done.stdout + done.stderr:
        tally.misrecorded.append(f"check exited {done.returncode}: {(done.stdout + done.stderr)[-300:]}")
    done = run(["history", "--json", "--limit", "5"], home, env, tally)
    if done.returncode != 0 or not json.loads(done.stdout)["items"]:
        tally.misrecorded.append(f"history --json exited {done.returncode}: {(done.stdout + done.stderr)[-300:]}")


def storm(kills: int, seed: int, home: Path) -> Tally:
    env, rng, tally = environment(home), random.Random(seed), Tally()
    for first in (["retrain", "--type", "initial"], ["retrain", "--type", "daily", "--bars", "2500"]):
        done = run(first, home, env, tally)
        if done.returncode != 0:
            raise SystemExit(f"setup run {' '.join(first)} failed ({done.returncode}):\n{done.stdout[-2000:]}")
    check_pair(home, tally, "setup")
    started_at, attempts = time.monotonic(), 0
    while tally.kills < kills and attempts < kills * 3:
        attempts += 1
        command = rng.choices([["retrain", "--type", "daily", "--bars", str(rng.choice([2500, 3000]))],
                               ["rollback", "--reason", "kill storm"]], weights=[65, 35])[0]
        killed = kill_somewhere(command, home, env, rng, tally)
        if killed:
            tally.kills += 1
            tally.commands[command[0]] = tally.commands.get(command[0], 0) + 1
        else:
            tally.finished_first += 1
        check_pair(home, tally, f"after kill {tally.kills} ({command[0]})")
        if attempts % RECOVER_EVERY == 0:  # in between, the next command is the recovery path
            recover(home, env, rng, tally, looks=attempts % (RECOVER_EVERY * 3) == 0)
            check_pair(home, tally, f"after recovery {tally.kills}")
            check_history(home, tally, f"after recovery {tally.kills}")
        if killed and tally.kills % 10 == 0:
            print(f"{tally.kills} kills, {time.monotonic() - started_at:.0f} s: torn {len(tally.torn)}, missing "
                  f"{len(tally.missing)}, misrecorded {len(tally.misrecorded)}", flush=True)
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=200, help="SIGKILLs to deliver (default 200)")
    parser.add_argument("--seed", type=int, default=20261201, help="random seed (the storm is reproducible)")
    parser.add_argument("--dir", type=Path, default=None, help="home for models/ and data/ (default: a temp dir)")
    args = parser.parse_args()
    if os.name != "posix":
        parser.error("SIGKILL is POSIX; run the storm on Linux or macOS")
    home = args.dir or Path(tempfile.mkdtemp(prefix="kill-storm-"))
    home.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    tally = storm(args.kills, args.seed, home)
    items = json.loads(run(["history", "--json", "--limit", "100000"], home, environment(home), tally).stdout)["items"]
    history_runs = sum(item["entry"] == "run" for item in items)
    print(f"home: {home}")
    print(f"kills: {tally.kills} ({', '.join(f'{k} {v}' for k, v in sorted(tally.commands.items()))}; modes "
          f"{', '.join(f'{k} {v}' for k, v in sorted(tally.modes.items()))}); finished before the kill: "
          f"{tally.finished_first}; in {time.monotonic() - began:.0f} s")
    print(f"runs started: {len(tally.started)}; runs recorded: {history_runs}; pairs seen live: "
          f"{len(tally.live_manifests)}")
    for label, found in (("torn pairs", tally.torn), ("missing runs", tally.missing),
                         ("misrecorded runs", tally.misrecorded)):
        print(f"{label}: {len(found)}")
        for line in found[:10]:
            print(f"  {line}")
    return 1 if tally.torn or tally.missing or tally.misrecorded else 0


if __name__ == "__main__":
    sys.exit(main())
