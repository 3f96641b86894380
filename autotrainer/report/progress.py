"""How far a replay has got: a rich progress bar with the time left on a terminal; otherwise (cron, a file, a
pipe) one short line per run and a line per tenth, each with the time left, all cp1252-safe."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

from autotrainer.timeutil import wib_text


def replay_progress(json_output: bool, stream: Any = None) -> Any:
    """A context giving the replay's progress callback; on stderr under --json, so stdout stays JSON."""
    stream = stream or (sys.stderr if json_output else sys.stdout)
    return _bar(stream) if stream.isatty() else _plain(stream)


def eta_text(seconds: float) -> str:
    """'1:05' (minutes:seconds) or '1:02:03' past an hour."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@contextmanager
def _plain(stream: Any) -> Iterator[Any]:
    marks, began = set(), time.perf_counter()

    def show(p: Any) -> None:
        elapsed = time.perf_counter() - began
        # Before 1% of the ticks the rate is the first run's (imports, a pool warming up): no estimate yet.
        eta = f"eta {eta_text(elapsed * (p.total - p.done) / p.done)}" if 100 * p.done >= p.total else "eta -"
        if p.line:
            print(f"{100 * p.done // p.total:3d}% {p.line} ({eta})", file=stream, flush=True)
        tenth = p.done * 10 // p.total
        if tenth not in marks:
            marks.add(tenth)
            print(f"replay {tenth * 10}% ({wib_text(p.now)}, {eta})", file=stream, flush=True)

    yield show


@contextmanager
def _bar(stream: Any) -> Iterator[Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from autotrainer.logs import rich_console

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                  console=rich_console(stream, highlight=False)) as progress:
        task = progress.add_task("replay", total=1)

        def show(p: Any) -> None:
            if p.line:
                progress.console.print(p.line, markup=False)
            progress.update(task, total=p.total, completed=p.done, description=f"replay {wib_text(p.now)}")

        yield show
