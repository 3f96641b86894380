"""How far a replay has got: a rich progress bar on a terminal, a line per tenth otherwise (cron, a file)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

from autotrainer.timeutil import wib_text


def replay_progress(json_output: bool) -> Any:
    """A context giving the replay's progress callback; on stderr under --json, so stdout stays JSON."""
    stream = sys.stderr if json_output else sys.stdout
    return _bar(stream) if stream.isatty() else _plain(stream)


@contextmanager
def _plain(stream: Any) -> Iterator[Any]:
    marks = set()

    def show(p: Any) -> None:
        if p.line:
            print(p.line, file=stream, flush=True)
        tenth = p.done * 10 // p.total
        if tenth not in marks:
            marks.add(tenth)
            print(f"replay {tenth * 10}% ({wib_text(p.now)})", file=stream, flush=True)

    yield show


@contextmanager
def _bar(stream: Any) -> Iterator[Any]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from autotrainer.logs import rich_console

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=rich_console(stream, highlight=False)) as progress:
        task = progress.add_task("replay", total=1)

        def show(p: Any) -> None:
            if p.line:
                progress.console.print(p.line, markup=False)
            progress.update(task, total=p.total, completed=p.done, description=f"replay {wib_text(p.now)}")

        yield show
