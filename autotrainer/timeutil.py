"""Time in the operator's clock: WIB (Asia/Jakarta, UTC+7, no daylight saving).

Everything is stored in UTC; WIB is for display and for the retrain window. `zoneinfo` + `tzdata`
make this work on Windows too, and the host's own zone and DST never enter a decision.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from autotrainer.errors import ConfigError

WIB = ZoneInfo("Asia/Jakarta")
# FX and metals close every day, and for the weekend on Friday, at 17:00 New York time, on every broker.
NEW_YORK = ZoneInfo("America/New_York")
CLOSE_HOUR_NEW_YORK = 17
# The broker clock assumed when nothing says otherwise: most MT5 brokers run UTC+2/UTC+3 with European DST.
DEFAULT_SERVER_TIMEZONE = "Europe/Athens"
_OFFSET_RE = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")
_SHIFTED_ZONE_RE = re.compile(r"^([A-Za-z][A-Za-z0-9_/+-]*?)\s*([+-]\d{1,2}(?::?\d{2})?)$")


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


def parse_option(flag: str, text: str | None, example: str) -> datetime | None:
    """A command-line option's ISO time (no zone = WIB), None when not given; a ConfigError (exit 2) that
    names the option and shows `example` when it is not a time."""
    try:
        return parse_wib(text) if text else None
    except ValueError:
        raise ConfigError(f"{flag} {text!r} is not {example}") from None


def parse_timezone(name: str, origin: str = "time zone") -> Any:
    """An IANA zone, 'UTC' or a fixed offset like '+03:00' as a tzinfo; ConfigError otherwise."""
    from datetime import timedelta, timezone
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = name.strip()
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = _OFFSET_RE.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta > timedelta(hours=14):
            raise ConfigError(f"{origin}: offset {name!r} is beyond +/-14:00")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{origin}: {name!r} is not a time zone; use an IANA name like 'Europe/Athens', 'UTC' or an offset like '+03:00'"
        ) from None


def parse_server_clock(name: str, origin: str = "server clock") -> tuple[Any, Any]:
    """A broker clock as (tzinfo, shift): server time = wall time of the zone + shift; ConfigError otherwise.

    Most specs are a plain zone (shift 0). 'America/New_York+07:00' describes the common MT5 "New York
    close" clock: UTC+2/UTC+3 switching on the US daylight-saving dates, which no IANA zone does.
    """
    from datetime import timedelta

    try:
        return parse_timezone(name, origin), timedelta(0)
    except ConfigError:
        match = _SHIFTED_ZONE_RE.match(name.strip())
        if not match:
            raise
    zone = parse_timezone(match.group(1), origin)
    shift = parse_timezone(match.group(2), origin).utcoffset(None)
    return zone, shift
