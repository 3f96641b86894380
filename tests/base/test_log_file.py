"""The rotating log file shared by every autotrainer process: no line is lost and nothing is printed when a
rotation cannot happen, as on Windows while another process has the log open."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from autotrainer import logs as console

LINE = "line %03d " + "x" * 60


@pytest.fixture
def log_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A small rotating log (about 12 lines a file), and the 'autotrainer' logger closed again afterwards."""
    monkeypatch.setattr(console, "LOG_BYTES", 1000)
    yield tmp_path / "logs" / "autotrainer.log"
    console.configure(to_console=False)  # removes and closes the handlers this test added


def _lines(path: Path) -> list[str]:
    """Every logged 'line NNN' in the log and its backups."""
    files = [path, *path.parent.glob(f"{path.name}.*")]
    return [found for f in files for found in re.findall(r"line (\d{3}) ", f.read_text(encoding="utf-8"))]


def _refuse_moving(path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """Make renaming `path` fail as Windows does while another process holds it open; returns the switch."""
    state = {"refuse": True}
    for name in ("rename", "replace"):
        real = getattr(os, name)

        def move(src: Any, dst: Any, *args: Any, _real: Any = real, **kwargs: Any) -> None:
            if state["refuse"] and os.fspath(src) == str(path):
                raise PermissionError(13, "The process cannot access the file because it is being used by "
                                          "another process", os.fspath(src))
            _real(src, dst, *args, **kwargs)

        monkeypatch.setattr(os, name, move)
    return state


def test_a_refused_rotation_keeps_every_line_and_prints_nothing(log_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capfd: pytest.CaptureFixture[str]) -> None:
    logger = console.configure(log_file=str(log_path), command="test", to_console=False)
    refusal = _refuse_moving(log_path, monkeypatch)
    for number in range(60):  # five files' worth while the log cannot be moved
        logger.info(LINE, number)
    assert _lines(log_path) == [f"{n:03d}" for n in range(60)]
    assert list(log_path.parent.iterdir()) == [log_path]  # nothing rotated, no backup shifted or lost
    refusal["refuse"] = False  # the other process closed the log: the next line rotates it
    for number in range(60, 70):
        logger.info(LINE, number)
    assert sorted(_lines(log_path)) == [f"{n:03d}" for n in range(70)]
    assert (log_path.parent / "autotrainer.log.1").exists() and log_path.stat().st_size < 1000
    assert capfd.readouterr() == ("", "")


def test_two_processes_keep_writing_to_the_current_file_after_one_rotates(log_path: Path) -> None:
    log_path.parent.mkdir()
    first = console.SharedRotatingFileHandler(log_path, console.LOG_BYTES, console.LOG_BACKUPS)
    second = console.SharedRotatingFileHandler(log_path, console.LOG_BYTES, console.LOG_BACKUPS)
    for handler in (first, second):
        handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
    try:
        for number in range(40):
            record = logging.LogRecord("autotrainer", logging.INFO, __file__, 0, LINE, (number,), None)
            (first if number % 2 else second).handle(record)
        assert sorted(_lines(log_path)) == [f"{n:03d}" for n in range(40)]
        newest = log_path.read_text(encoding="utf-8").splitlines()
        assert newest[-2:] == [f"[autotrainer] {LINE % 38}", f"[autotrainer] {LINE % 39}"]  # both, in order
        assert all(f.stat().st_size < 1000 for f in log_path.parent.iterdir())
    finally:
        first.close()
        second.close()
