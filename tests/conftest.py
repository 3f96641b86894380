"""Shared fixtures: real bundled bars and settings that write into a temporary directory."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, NamedTuple

import pandas as pd
import pytest

from autotrainer.config import Settings, load_settings


def _shared_data() -> Path:
    """The workplace's copy of the real bars (../shared/data beside the checkout, or /work/shared/data); run
    from an unpacked sdist elsewhere, the copy packaged with autotrainer, which REAL_BARS_SHA256 pins."""
    from autotrainer.data.bundled import SAMPLE_PATH

    name = Path("shared") / "data" / "xauusd_m15_mt5demo.csv.gz"
    candidates = [Path(__file__).resolve().parents[2] / name, Path("/work") / name]
    return next((p for p in candidates if p.exists()), SAMPLE_PATH)


SHARED_DATA = _shared_data()
# SHA-256 of the 15,000 real bars, uncompressed, as the public repository published them.
REAL_BARS_SHA256 = "0e45d2431a759d3c087a942a8f149ab7450743730915bd13abb31d98a29b056d"
# Settings that let the publish mechanics be tested on honest real-data AUCs (about 0.50-0.53):
# every candidate passes the floor, and runs are kept small so the suite stays quick.
PUBLISHABLE = {"publish_floor_auc": 0.0, "min_auc_threshold": 0.5, "daily_bars": 3000,
               "initial_bars": 3000, "daily_rounds": 10, "initial_rounds": 10,
               "allow_stale_data": True,  # file sources here hold the sample's historical bars
               # these tests publish again and again on the same bundled bars to exercise the publish
               # mechanics; the skip of such runs is tested with it on (tests/jobs/test_skip_unchanged.py)
               "skip_unchanged": False}


def cli_env(**settings: object) -> dict[str, str]:
    """This process's environment without AUTOTRAINER_ variables, plus `settings` as AUTOTRAINER_ variables:
    what a command-line subprocess of a test runs with."""
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("AUTOTRAINER_")}
    env.update({f"AUTOTRAINER_{k.upper()}": str(v) for k, v in settings.items()})
    return env


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings rooted in tmp_path, with any overrides (values as the command line would give them)."""

    def make(**overrides: Any) -> Settings:
        base = {"models_dir": tmp_path / "models", "data_dir": tmp_path / "data"}
        return load_settings(None, {**base, **overrides}, env={})

    return make


@contextmanager
def _as_a_test_in(root: Path) -> Iterator[None]:
    """Work in `root` without AUTOTRAINER_* variables, as _isolated_cwd runs each test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        for name in [n for n in os.environ if n.startswith("AUTOTRAINER_")]:
            patch.delenv(name)
        yield


def _settings_in(root: Path, **overrides: Any) -> Settings:
    return load_settings(None, {"models_dir": root / "models", "data_dir": root / "data", **overrides}, env={})


@pytest.fixture(scope="session")
def _trained_pair(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder as `retrain(make_settings(**PUBLISHABLE), "initial")` leaves it (models, data, logs), trained once
    per session: most tests need some published pair, few need to train their own."""
    from autotrainer.jobs.retrain import retrain

    root = tmp_path_factory.mktemp("trained_pair")
    with _as_a_test_in(root):
        assert retrain(_settings_in(root, **PUBLISHABLE), "initial").published
    return root


@pytest.fixture
def published_pair(_trained_pair: Path, tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    """PUBLISHABLE settings in this test's own folder, which holds a copy of the session's trained pair with its
    recorded run and log: the same state as training one here, without the training."""
    shutil.copytree(_trained_pair, tmp_path, dirs_exist_ok=True)
    return make_settings(**PUBLISHABLE)


class TwoPairs(NamedTuple):
    root: Path  # the folder after both runs
    first_models: Path  # a copy of its models folder after the first run, before B was published over A


TWO_PAIRS = {**PUBLISHABLE, "champion_tolerance": 0.5}  # B (fewer bars) may be a little worse than A and still win


@pytest.fixture(scope="session")
def two_trained_pairs(tmp_path_factory: pytest.TempPathFactory) -> TwoPairs:
    """Model A (initial), then model B (daily, 2,500 bars) published over it, trained once per session."""
    from autotrainer.jobs.retrain import retrain

    root, first = tmp_path_factory.mktemp("two_pairs"), tmp_path_factory.mktemp("two_pairs_first") / "models"
    with _as_a_test_in(root):
        settings = _settings_in(root, **TWO_PAIRS)
        assert retrain(settings, "initial").published
        shutil.copytree(settings.models_dir, first)
        assert retrain(settings, "daily", bars=2500).published
    return TwoPairs(root, first)


@pytest.fixture
def two_published_pairs(two_trained_pairs: TwoPairs, tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    """Settings (TWO_PAIRS) in this test's own folder, holding a copy of the session's A-then-B folder: B is
    published, A is its only backup."""
    shutil.copytree(two_trained_pairs.root, tmp_path, dirs_exist_ok=True)
    return make_settings(**TWO_PAIRS)


@pytest.fixture(scope="session")
def sample_frame() -> pd.DataFrame:
    """All 15,000 bundled bars, validated and in UTC."""
    from autotrainer.data.sources import load_bars

    return load_bars(load_settings(None, {"source": "sample"}, env={}), 15_000).frame


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test in its own directory, so default 'models'/'data' paths and autotrainer.toml are private."""
    monkeypatch.chdir(tmp_path)
    for name in [n for n in __import__("os").environ if n.startswith("AUTOTRAINER_")]:
        monkeypatch.delenv(name)


# PostgreSQL for the history tests: the local server in CI (REQUIRE_POSTGRES=1 makes its absence a failure,
# never a skip); on a machine without it those cases skip with the reason.
PG_ADMIN_URL = __import__("os").environ.get("PG_TEST_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = __import__("os").environ.get("REQUIRE_POSTGRES") == "1"


def _postgres_database() -> Iterator[str]:
    import uuid

    import sqlalchemy as sa

    name = f"autotrainer_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {str(exc.orig).strip().splitlines()[0]}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty history database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{(tmp_path / 'history.db').as_posix()}"
    else:
        yield from _postgres_database()


def learnable_bars(frame: pd.DataFrame, from_fraction: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """The real bars' times and move sizes with a planted pattern from `from_fraction` of the rows on:
    75% of bars close in the direction of the previous bar's body. Before that point directions are coin
    flips. Lets tests see a model that really works (AUC ~0.8) and one that cannot (AUC ~0.5); below the
    audit's 0.9 single-feature label-leak line, as a real (if improbable) edge would be."""
    import numpy as np

    rng = np.random.default_rng(seed)
    size = np.abs(np.diff(np.log(frame["close"].to_numpy()), prepend=np.log(frame["open"].iloc[0]))) + 1e-5
    wick = (frame["high"] - frame["low"]).to_numpy() / frame["close"].to_numpy() * 0.3
    start = int(len(frame) * from_fraction)
    opens, closes = np.empty(len(frame)), np.empty(len(frame))
    price = float(frame["open"].iloc[0])
    for t in range(len(frame)):
        opens[t] = price
        follow = t > start and rng.random() < 0.75
        direction = (1.0 if closes[t - 1] > opens[t - 1] else -1.0) if follow else rng.choice([-1.0, 1.0])
        closes[t] = price = price * float(np.exp(direction * size[t]))
    out = frame.copy()
    out["open"], out["close"] = opens, closes
    out["high"] = np.maximum(opens, closes) * (1 + wick)
    out["low"] = np.minimum(opens, closes) * (1 - wick)
    return out


def write_bars(frame: pd.DataFrame, path: Path) -> Path:
    """Bars as an MT5-style CSV in the broker's server clock (Europe/Athens), as operators export them."""
    out = frame.copy()
    out["time"] = out["time"].dt.tz_convert("Europe/Athens").dt.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path, index=False)
    return path


def recorded_runs(data_dir: Path) -> list:
    """Every run recorded under `data_dir` (default history database), in the order they were recorded."""
    from autotrainer.history.service import History

    history = History(load_settings(None, {"data_dir": data_dir}, env={}))
    try:
        return sorted(history.view(limit=100_000).runs, key=lambda run: run.id or 0)
    finally:
        history.close()
