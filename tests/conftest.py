"""Shared fixtures: real bundled bars and settings that write into a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest

from autotrainer.config import Settings, load_settings

def _shared_data() -> Path:
    """The workplace's copy of the real bars: ../shared/data beside the checkout, or /work/shared/data."""
    name = Path("shared") / "data" / "xauusd_m15_mt5demo.csv.gz"
    candidates = [Path(__file__).resolve().parents[2] / name, Path("/work") / name]
    return next((p for p in candidates if p.exists()), candidates[0])


SHARED_DATA = _shared_data()
# Settings that let the publish mechanics be tested on honest real-data AUCs (about 0.50-0.53):
# every candidate passes the floor, and runs are kept small so the suite stays quick.
PUBLISHABLE = {"rollback_auc_threshold": 0.0, "min_auc_threshold": 0.5, "daily_bars": 3000,
               "initial_bars": 3000, "daily_rounds": 10, "initial_rounds": 10}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings rooted in tmp_path, with any overrides (values as the command line would give them)."""

    def make(**overrides: Any) -> Settings:
        base = {"models_dir": tmp_path / "models", "data_dir": tmp_path / "data"}
        return load_settings(None, {**base, **overrides}, env={})

    return make


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """All 15,000 bundled bars, validated and in UTC."""
    from autotrainer.sources import load_bars

    return load_bars(load_settings(None, {"source": "sample"}, env={}), 15_000).frame


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in its own directory, so default 'models'/'data' paths and autotrainer.toml are private."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("AUTOTRAINER_")]:
        monkeypatch.delenv(name)
