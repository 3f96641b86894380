"""`history`: the runs and model events an operator asked for, read without creating anything."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from autotrainer.config import Settings
from autotrainer.errors import ConfigError
from autotrainer.history.words import STATUSES_OF_WORD

if TYPE_CHECKING:  # the service imports SQLAlchemy
    from autotrainer.history.service import HistoryView


def past_runs(settings: Settings, limit: int | None, training_type: str | None, status: str | None,
              since: datetime | None, plot: Path | None) -> "HistoryView":
    """The newest runs (10 by default, 1000 for a plot) matching the filters; `status` is an outcome word
    ('rejected') or a published AUC band ('warning'), translated to the stored statuses."""
    from autotrainer.history.service import History

    if status is not None and status not in STATUSES_OF_WORD:
        raise ConfigError(f"--status {status!r} is not one of: {', '.join(STATUSES_OF_WORD)}")
    store = History(settings, read_only=True)
    view = store.view(limit=limit or (1000 if plot else 10), training_type=training_type,
                      status=STATUSES_OF_WORD[status] if status else None, since=since)
    store.close()
    return view
