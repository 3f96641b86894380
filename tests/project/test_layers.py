"""The package's layers (../shared/ARCHITECTURE.md) are enforced by import-linter, run here so CI fails on a
wrong-way import. The contracts live in pyproject.toml; imports inside functions count too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(package_parent: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports with the project's contracts, over the autotrainer package found in package_parent."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(LINT_IMPORTS), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo"], cwd=package_parent,
                          env=env, capture_output=True, text=True, timeout=120)


def test_every_layer_contract_is_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    assert "Layers: each part of the job imports only the parts below it KEPT" in result.stdout


@pytest.mark.parametrize("module, planted, broken", [
    # a data source that reaches up into the scheduler, inside a function
    ("data/bars.py", "def _planted():\n    from autotrainer.schedule import policy\n", "Layers"),
    # the bot's API importing the database layer
    ("live.py", "def _planted():\n    from autotrainer.history import service\n", "The bot's API"),
    # the pure scheduling decision importing pandas
    ("schedule/policy.py", "def _planted():\n    import pandas\n", "The scheduling decision"),
])
def test_a_planted_wrong_way_import_fails_the_check(tmp_path: Path, module: str, planted: str, broken: str) -> None:
    copy = tmp_path / "autotrainer"
    shutil.copytree(ROOT / "autotrainer", copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / module).open("a", encoding="utf-8") as handle:
        handle.write("\n\n" + planted)
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert any(line.startswith(broken) and line.endswith("BROKEN") for line in result.stdout.splitlines()), result.stdout
