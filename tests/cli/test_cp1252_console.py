"""Every command as Task Scheduler and .bat wrappers run it on Windows: stdout and stderr redirected to files,
which Python then writes in the ANSI code page (cp1252 here). No command may crash on a character cp1252
lacks, whether it comes from our own text or from the operator's data (a file name, a rollback reason)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tokenize
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import PUBLISHABLE, cli_env

import autotrainer
from autotrainer.data.bundled import SAMPLE_PATH
from autotrainer.logs import rich_console
from autotrainer.timeutil import WIB

EXE = Path(sys.executable).with_name("autotrainer")
REASON = "fills >= 3 pips \u2192 rolled back \u2265 once"  # an arrow and a >= sign: neither exists in cp1252
ODD_FILE = "bars\u2192.csv.gz"
COMMANDS = ("retrain", "check", "history", "rollback", "auc", "bars", "audit")


def run(cwd: Path, args: list[str], **settings: object) -> tuple[int, str]:
    """Exit code and stdout + stderr of one command with both redirected to files, decoded as cp1252."""
    env = {**cli_env(**{**PUBLISHABLE, **settings}), "PYTHONIOENCODING": "cp1252"}
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        code = subprocess.run([str(EXE), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=err, timeout=300).returncode
    text = out_path.read_bytes().decode("cp1252") + err_path.read_bytes().decode("cp1252")  # strict: must decode
    for sign in ("Traceback", "UnicodeEncodeError", "Logging error", "unexpected"):
        assert sign not in text, f"{args}: {text}"
    return code, text


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two published models (so there is a backup) and a rollback whose reason cp1252 cannot show."""
    root = tmp_path_factory.mktemp("cp1252")
    for args in (["retrain"], ["retrain"], ["rollback", "--reason", REASON]):
        code, text = run(root, args)
        assert code == 0, text
    shutil.copy(SAMPLE_PATH, root / ODD_FILE)
    return root


def _next_daily_window() -> str:
    """05:05 WIB on a weekday at least 21 hours from now, when a daily retrain is due after today's runs."""
    moment = datetime.now(WIB).replace(hour=5, minute=5, second=0, microsecond=0)
    while moment.weekday() >= 5 or moment - datetime.now(WIB) < timedelta(hours=21):
        moment += timedelta(days=1)
    return moment.replace(tzinfo=None).isoformat()


CASES = [
    (["retrain", "--json"], {}, 0, '"status"'),
    (["check"], {}, 0, "not due \u2014 "),  # an em dash, which cp1252 has, stays one
    (["check", "--json"], {}, 0, '"due": false'),
    (["check", "--run", "--now", _next_daily_window()], {}, 0, "Models published"),
    (["history"], {}, 0, "\\u2265"),  # the operator's text, escaped rather than a crash
    (["history", "--json"], {}, 0, "\\u2192"),
    (["history", "--csv"], {}, 0, "\\u2192 rolled back"),
    (["rollback", "--list"], {}, 0, " -> "),
    (["rollback", "--list", "--json"], {}, 0, '"verifies": true'),
    (["rollback", "--reason", "cp1252 check"], {}, 0, "Rolled back to"),
    (["auc"], {}, 0, "OK >= 0.5"),
    (["auc", "--live"], {}, 0, "not enough new bars yet"),
    (["auc", "--json"], {}, 0, '"status": "OK"'),
    (["bars"], {}, 0, "bars from"),
    (["bars", "--source", ODD_FILE], {}, 0, "bars\\u2192.csv.gz"),
    (["audit", "--bars", "1500"], {}, 0, "CLEAN"),
    (["--help"], {}, 0, "Usage"),
    (["--version"], {}, 0, "autotrainer "),
    *[([command, "--help"], {}, 0, "Usage") for command in COMMANDS],
    (["check"], {"daily_bars": "lots"}, 2, "error: "),  # a bad setting
    (["history", "--since", "last tuesday"], {}, 2, "is not an ISO date"),
    (["retrain", "--source", "missing\u2192bars.csv"], {}, 2, "does not exist"),
    (["rollback", "--to", "19990101_000000"], {}, 2, "rollback refused"),
    (["retrain", "--type", "hourly"], {}, 2, "Invalid value"),
    (["auc", "--bogus"], {}, 2, "No such option"),
]


@pytest.mark.parametrize("args, settings, expected_code, expected_text", CASES,
                         ids=[" ".join(c[0]) + (" (bad setting)" if c[1] else "") for c in CASES])
def test_command_survives_a_cp1252_console(workspace: Path, args: list[str], settings: dict[str, object],
                                           expected_code: int, expected_text: str) -> None:
    code, text = run(workspace, args, **settings)
    assert code == expected_code, text
    assert expected_text in text, text



def _in_cp1252(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def test_our_own_text_is_all_in_cp1252() -> None:
    """Messages, table text and help (docstrings are help) stay readable on a cp1252 console, not escaped."""
    string_tokens = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    unshowable = []
    for path in sorted(Path(autotrainer.__file__).parent.rglob("*.py")):
        for token in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if token.type in string_tokens and not _in_cp1252(token.string):
                unshowable.append(f"{path.name}:{token.start[0]}: {token.string[:80]}")
    assert unshowable == []


def test_rich_writes_a_redirected_stream_as_plain_text_even_where_it_detects_a_legacy_console(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """On Windows, stdout redirected to a file has no VT mode, so rich would pick its Win32 console renderer."""
    import rich.console

    monkeypatch.setattr(rich.console, "detect_legacy_windows", lambda: True)
    with (tmp_path / "out.txt").open("w", encoding="cp1252", errors="backslashreplace") as stream:
        assert rich_console(stream).legacy_windows is False
