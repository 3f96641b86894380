"""Secrets never leave memory: a password in any form of database URL, and the MetaTrader 5 login and password,
appear in no output, file, picture or database row of any command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from conftest import PUBLISHABLE, _postgres_database
from typer.testing import CliRunner

from autotrainer.cli import app
from autotrainer.config import load_settings
from autotrainer.masking import mask_password, redact, url_secrets

SECRET = "Zq7sEcReT"  # cannot appear by accident; every planted password starts with it
LOGIN = "7351946208173649521"  # an mt5_login no number in a model, chart or log happens to contain
PLANTED = (SECRET.encode(), LOGIN.encode())
FORMS = ("userinfo", "query", "percent-encoded", "scheme-less", "sqlite-query")
runner = CliRunner()


def planted_url(form: str, postgres: str, tmp_path: Path) -> str:
    """The database URL of `form`, with the secret where an operator might put a password."""
    url = sa.engine.make_url(postgres)  # postgresql+psycopg2://postgres@127.0.0.1:5432/<fresh database>
    where = f"{url.host}:{url.port}/{url.database}"
    return {
        "userinfo": f"postgresql+psycopg2://{url.username}:{SECRET}@{where}",
        "query": f"postgresql+psycopg2://{url.username}@{where}?sslmode=prefer&password={SECRET}",
        "percent-encoded": f"postgresql+psycopg2://{url.username}:{quote(SECRET + '@/:%', safe='')}@{where}",
        "scheme-less": f"{url.username}:{SECRET}@{where}",
        "sqlite-query": f"sqlite:///{(tmp_path / 'history.db').as_posix()}?Token={SECRET}",
    }[form]


@pytest.fixture
def postgres() -> Iterator[str]:
    yield from _postgres_database()


def plant(form: str, url: str, tmp_path: Path) -> dict[str, str]:
    """Settings for every command: half the forms through the environment, half through autotrainer.toml."""
    settings: dict[str, Any] = {**PUBLISHABLE, "source": "sample", "database_url": url, "mt5_login": int(LOGIN),
                                "mt5_password": f"{SECRET}-mt5", "mt5_server": "Broker-Live"}
    if FORMS.index(form) % 2 == 0:
        return {f"AUTOTRAINER_{key.upper()}": str(value) for key, value in settings.items()}
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (tmp_path / "autotrainer.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {}


COMMANDS: list[tuple[list[str], dict[str, str], int | None]] = [
    (["--help"], {}, 0),
    (["retrain", "--type", "initial"], {}, 0),
    (["retrain", "--type", "daily", "--json"], {}, 0),
    (["retrain", "--type", "daily"], {"AUTOTRAINER_MIN_AUC_THRESHOLD": "0.99",
                                      "AUTOTRAINER_PUBLISH_FLOOR_AUC": "0.98"}, 3),  # rejected
    (["check"], {}, 0),
    (["check", "--json"], {}, 0),
    (["check", "--run", "--now", "2026-12-24T05:00"], {}, None),
    (["history"], {}, 0),
    (["history", "--json"], {}, 0),
    (["history", "--csv"], {}, 0),
    (["history", "--plot", "history.png"], {}, 0),
    (["rollback", "--list"], {}, 0),
    (["rollback", "--list", "--json"], {}, 0),
    (["rollback"], {}, 0),
    (["rollback", "--json"], {}, 0),
    (["auc"], {}, None),
    (["auc", "--json"], {}, None),
    (["auc", "--live"], {}, None),
    (["bars"], {}, 0),
    (["bars", "--json"], {}, 0),
    (["audit", "--bars", "1500"], {}, 0),
    (["audit", "--bars", "1500", "--json"], {}, 0),
]


def database_rows(url: str) -> str:
    """Every row of every table of the history database, as text."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return "\n".join(repr(row) for table in meta.sorted_tables for row in conn.execute(table.select()))
    finally:
        engine.dispose()


def assert_nothing_leaked(where: str, data: bytes) -> None:
    for secret in PLANTED:
        assert secret not in data, f"{secret.decode()} leaked into {where}"


@pytest.mark.parametrize("form", FORMS)
def test_no_command_leaks_a_planted_secret(form: str, postgres: str, tmp_path: Path) -> None:
    url = planted_url(form, postgres, tmp_path)
    env = plant(form, url, tmp_path)
    usable = form != "scheme-less"  # a URL without a scheme can never connect (nor be parsed)
    for args, extra, expected in COMMANDS:
        result = runner.invoke(app, args, env={**env, **extra})
        shown = f"autotrainer {' '.join(args)}"
        assert "Traceback" not in result.output, f"{shown}: {result.output}"
        assert_nothing_leaked(f"the output of {shown}", result.output.encode())
        if usable:
            assert result.exit_code != 1, f"{shown}: {result.output}"
            assert expected is None or result.exit_code == expected, f"{shown}: {result.output}"
    files = [path for path in tmp_path.rglob("*") if path.is_file() and path.name != "autotrainer.toml"]  # the input
    if usable:
        names = {path.name for path in files}
        assert {"manifest.json", "history.png", "autotrainer.log"} <= names, names
        assert any("backups" in path.parts for path in files)
    for path in files:
        assert_nothing_leaked(str(path), path.read_bytes())
    if usable:
        rows = database_rows(postgres if form != "sqlite-query" else f"sqlite:///{(tmp_path / 'history.db').as_posix()}")
        assert "publish" in rows and "rejected" in rows and "rollback" in rows
        assert_nothing_leaked("the history database", rows.encode())


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_credential_is_masked_and_removable(form: str, tmp_path: Path) -> None:
    url = planted_url(form, "postgresql+psycopg2://postgres@127.0.0.1:5432/history", tmp_path)
    assert SECRET not in mask_password(url) and "***" in mask_password(url)
    assert any(secret.startswith(SECRET) for secret in url_secrets(url))
    message = f"could not connect with {url} (password {SECRET}@/:%)"  # what a driver may echo, raw or decoded
    assert SECRET not in redact(message, url_secrets(url))


def test_the_settings_snapshot_holds_no_address_or_account(tmp_path: Path) -> None:
    url = planted_url("userinfo", "postgresql+psycopg2://postgres@127.0.0.1:5432/history", tmp_path)
    settings = load_settings(None, {"database_url": url}, env={"AUTOTRAINER_MT5_LOGIN": LOGIN,
                                                             "AUTOTRAINER_MT5_PASSWORD": SECRET})
    snapshot = settings.public_dict()
    assert not {"database_url", "mt5_login", "mt5_password"} & set(snapshot)
    assert (snapshot["database"], snapshot["mt5_login_set"], snapshot["mt5_password_set"]) == ("postgresql", True, True)
    assert "127.0.0.1" not in json.dumps(snapshot) and LOGIN not in json.dumps(snapshot)
    assert settings.secrets() == {SECRET, LOGIN}


def test_a_secret_that_reaches_a_log_record_is_masked_in_the_log_file(tmp_path: Path) -> None:
    from autotrainer import logs as console

    log = console.configure(log_file=str(tmp_path / "logs" / "autotrainer.log"), command="test")
    console.keep_secret({SECRET})
    try:
        log.warning("driver said: password %s rejected", SECRET)
        try:
            raise RuntimeError(f"dsn password={SECRET}")
        except RuntimeError:
            log.exception("failed")
    finally:
        console.keep_secret(())
        console.configure(to_console=False)
    written = (tmp_path / "logs" / "autotrainer.log").read_text(encoding="utf-8")
    assert "driver said: password *** rejected" in written and "RuntimeError: dsn password=***" in written
    assert SECRET not in written


def test_the_history_chart_names_the_database_kind_not_its_address(
    postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autotrainer.report import charts

    titles: list[str] = []
    draw = charts.run_history
    monkeypatch.setattr(charts, "run_history", lambda *args: titles.append(args[3]) or draw(*args))
    env = plant("userinfo", planted_url("userinfo", postgres, tmp_path), tmp_path)
    assert runner.invoke(app, ["retrain", "--type", "initial"], env=env).exit_code == 0
    result = runner.invoke(app, ["history", "--plot", "history.png"], env=env)
    assert result.exit_code == 0, result.output
    assert len(titles) == 1 and titles[0].endswith("(postgresql database)"), titles
    assert not any(part in titles[0] for part in ("127.0.0.1", "5432", "autotrainer_test", "***", "@"))
    assert (tmp_path / "history.png").read_bytes().startswith(b"\x89PNG")


def test_a_replay_leaks_no_planted_secret(tmp_path: Path) -> None:
    env = plant("userinfo", planted_url("userinfo", "postgresql+psycopg2://postgres@127.0.0.1:1/history", tmp_path),
                tmp_path)  # a replay never touches the live database: a closed port proves it
    env |= {"AUTOTRAINER_MIN_AUC_THRESHOLD": "0.65", "AUTOTRAINER_PUBLISH_FLOOR_AUC": "0.5",
            "AUTOTRAINER_EMERGENCY_RULE": "seed", "AUTOTRAINER_EMERGENCY_BARS": "3000",
            "AUTOTRAINER_EMERGENCY_ROUNDS": "10", "AUTOTRAINER_HMM_MAX_ITER": "10"}
    out = tmp_path / "replay"
    result = runner.invoke(app, ["replay", "--from", "2025-11-10T05:00", "--to", "2025-11-11T12:00",
                                 "--out", str(out), "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert sum(json.loads(result.stdout)["retrains"].values()) >= 1
    assert_nothing_leaked("the output of autotrainer replay", result.output.encode())
    written = [path for path in out.rglob("*") if path.is_file()]
    assert {"report.html", "summary.json", "auc_over_time.png"} <= {path.name for path in written}
    for path in written:
        assert_nothing_leaked(str(path), path.read_bytes())
