"""The source distribution carries what its own tests need, and says what licence it is under."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_sdist_carries_the_tests_scripts_scheduler_files_licences_and_sample(tmp_path: Path) -> None:
    # Offline: the build backend comes from the test extra instead of a freshly downloaded build environment.
    result = subprocess.run([sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(tmp_path),
                             str(ROOT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    (sdist,) = tmp_path.glob("autotrainer-*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
        metadata = archive.extractfile(f"{top}/PKG-INFO").read().decode("utf-8")
    needed = {"README.md", "LICENSE", "NOTICE", "pyproject.toml", "autotrainer/data/sample/xauusd_m15_mt5demo.csv.gz",
              "scripts/install-cron.sh", "scripts/install-task.ps1", "cron/autotrainer.crontab",
              "cron/autotrainer-task.xml"}
    needed |= {path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").rglob("*.py")}  # helpers too
    needed |= {path.relative_to(ROOT).as_posix() for path in (ROOT / "autotrainer").rglob("*.py")}
    assert sorted(needed - names) == []
    assert [name for name in names if "__pycache__" in name or name.endswith(".pyc")] == []
    assert "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata and "License-File: NOTICE" in metadata
    assert "Provides-Extra: parquet" in metadata
    assert "Requires-Dist: pyarrow>=14; extra == \"parquet\"" in metadata  # and only there
    assert "Requires-Dist: pyarrow>=14\n" not in metadata
