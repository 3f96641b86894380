"""What a retrain would find in its bars, without training: behind `autotrainer bars`.

Operators point the tool at a new export or terminal before trusting the scheduler with it; this runs
exactly the reading and checks a retrain runs (layout, validation, timeframe, gaps, server clock, age)
and reports them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from autotrainer.config import Settings
from autotrainer.data.market_hours import bar_age
from autotrainer.data.sources import check_freshness, load_bars, resolve_source
from autotrainer.settings import TRAINING_TYPES
from autotrainer.timeutil import iso, wib_text


def inspect_bars(settings: Settings, count: int | None, now: datetime) -> dict[str, Any]:
    """Load and check the newest `count` bars (default: as many as the largest retrain uses); DataError if unusable."""
    count = count or max(settings.bars_and_rounds(kind)[0] for kind in TRAINING_TYPES)
    bars = load_bars(settings, count, now)
    check_freshness(bars, settings, now)
    start, end = bars.start.to_pydatetime(), bars.end.to_pydatetime()
    age = bar_age(bars.end, settings.timeframe_minutes, pd.Timestamp(now).tz_convert("UTC"))
    return {
        "source": resolve_source(settings),
        "origin": bars.origin,
        "symbol": settings.symbol,
        "timeframe": settings.timeframe,
        "bars": len(bars.frame),
        "bars_asked": count,
        "enough_to_train": len(bars.frame) >= settings.min_bars,
        "start": iso(start),
        "end": iso(end),
        "start_wib": wib_text(start),
        "end_wib": wib_text(end),
        "server_clock": bars.server_clock,
        "newest_bar_age_market_hours": round(age / pd.Timedelta(hours=1), 2),
        "age_checked": resolve_source(settings) != "sample",
        "notes": bars.notes,
        "warnings": bars.warnings,
    }
