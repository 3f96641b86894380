"""One SQLAlchemy engine per database URL in a process, so statements compiled once stay compiled.

SQLAlchemy keeps each statement's compiled form in its engine (the dialect is part of the key), and a History
opened an engine of its own: a replay, which opens one at every run, compiled every statement again each time.
Only the engine and its caches are shared. Its pool is emptied whenever a History opens it and when one
closes it, so every History still starts on fresh connections (a database file replaced meanwhile is opened
anew) and a closed History leaves no connection open. An in-memory SQLite URL is never shared: each engine
of it is a database of its own.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

from sqlalchemy.engine import Engine

KEPT = 8  # URLs whose engines stay (a process uses one or two; a test session many)
_ENGINES: OrderedDict[str, Engine] = OrderedDict()
_SCRATCH: set[str] = set()


def mark_scratch(url: str) -> None:
    """Mark the SQLite history at `url` as throwaway (a replay's own, in its output folder): its connections
    skip the disk syncs that keep a live history whole through a power cut (`PRAGMA synchronous=OFF`). A killed
    process still loses nothing it committed; only a crash of the machine could lose the newest commits, and a
    replay cut short that way is run again. A replay commits 3-4 times a run, each waiting ~10 ms for the disk."""
    _SCRATCH.add(url)


def is_scratch(url: str) -> bool:
    return url in _SCRATCH


def shared_engine(url: str, make: Callable[[], Engine]) -> Engine:
    """The process's engine for `url` with an empty pool (`make` creates it the first time)."""
    engine = _ENGINES.pop(url, None)
    if engine is None:
        engine = make()
    else:
        engine.dispose()  # connections a History left open (one never closed) are not handed to the next
    _ENGINES[url] = engine
    while len(_ENGINES) > KEPT:
        _ENGINES.popitem(last=False)[1].dispose()
    return engine
