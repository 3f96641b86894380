"""When a published pair expires: `model_max_age_hours` of market time after its training data ended.

Past it the bot API gives no BUY/SELL (live.py), and `check`, `auc` and the replay say so. Light on
purpose (no pandas): the not-due `check` reports it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from autotrainer.timeutil import as_utc, iso, wib_text

MAX_AGE_HOURS = 100_000  # the setting's own bound; a manifest saying more (or anything else) sets no limit


def expiry(manifest: dict[str, Any], moment: datetime) -> dict[str, Any]:
    """Whether the pair is past `model_max_age_hours` of market time after its training data at `moment`,
    and since when. A manifest without the limit (written before it existed) or with 0 never expires."""
    from autotrainer.data.market_week import market_time_after, market_time_between

    limit = manifest.get("model_max_age_hours")
    end = as_utc(datetime.fromisoformat(manifest["data"]["end"]))
    age = market_time_between(end, as_utc(moment)).total_seconds() / 3600
    if not isinstance(limit, (int, float)) or isinstance(limit, bool) or not 0 < limit <= MAX_AGE_HOURS:
        return {"expired": False, "model_max_age_hours": None, "age_market_hours": round(age, 2), "expired_since": None}
    since = market_time_after(end, float(limit))
    expired = as_utc(moment) >= since and age >= limit
    return {"expired": expired, "model_max_age_hours": limit, "age_market_hours": round(age, 2),
            "expired_since": iso(since) if expired else None, "expires_at": iso(since)}


def expiry_text(state: dict[str, Any]) -> str:
    """'EXPIRED since 2026-02-14 04:45 WIB: 80 market hours after its training data, limit 72 (...)', or how
    much of the limit is used."""
    age, limit = state["age_market_hours"], state["model_max_age_hours"]
    if limit is None:
        return f"no expiry (setting 'model_max_age_hours' off or not recorded); {age:g} market hours old"
    if state["expired"]:
        return (f"EXPIRED since {wib_text(datetime.fromisoformat(state['expired_since']))}: {age:g} market hours "
                f"after its training data, limit {limit:g} (setting 'model_max_age_hours'); the bot gives no signal")
    return f"{age:g} of {limit:g} market hours used; expires {wib_text(datetime.fromisoformat(state['expires_at']))}"
