"""Time in the operator's clock: WIB (Asia/Jakarta, UTC+7, no daylight saving).

Everything is stored in UTC; WIB is for display and for the retrain window. `zoneinfo` + `tzdata`
make this work on Windows too, and the host's own zone and DST never enter a decision.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC; an aware one is converted."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def wib_text(moment: datetime | None, seconds: bool = False) -> str:
    """'2026-11-24 05:00 WIB' (or '-' for no time)."""
    if moment is None:
        return "-"
    return as_utc(moment).astimezone(WIB).strftime("%Y-%m-%d %H:%M" + (":%S" if seconds else "")) + " WIB"


def iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def wib_iso(utc_iso: str) -> str:
    """'2025-02-06T05:00:15+07:00', the seed's retrain_history.txt line, from a UTC ISO timestamp."""
    return datetime.fromisoformat(utc_iso).astimezone(WIB).isoformat(timespec="seconds")


def parse_wib(text: str) -> datetime:
    """An ISO date or time typed by an operator; without a zone it means WIB. ValueError if unparseable."""
    moment = datetime.fromisoformat(text.strip())
    return as_utc(moment.replace(tzinfo=WIB) if moment.tzinfo is None else moment)
