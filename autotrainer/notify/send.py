"""Send a message about something that happened, when the operator asked for that kind, at most once an hour
per kind, to every channel set up. Never raises and never takes longer than `notify_timeout_seconds`: a
notification changes no run's outcome or exit code; a failure is a warning in the log."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Callable

from autotrainer.config import Settings
from autotrainer.masking import redact
from autotrainer.notify import channels, limits
from autotrainer.timeutil import utc_now

log = logging.getLogger("autotrainer")


def channels_of(settings: Settings, text: str, title: str) -> dict[str, Callable[[], None]]:
    """The channels set up, each ready to send `text`: Telegram when token and chat are known (the bot's
    TELEGRAM_BOT_TOKEN / TELEGRAM_CHAT_ID), Apprise when notify_urls lists any."""
    sends: dict[str, Callable[[], None]] = {}
    if settings.telegram_bot_token and settings.telegram_chat_id:
        sends["Telegram"] = partial(channels.telegram, settings.telegram_api_url, settings.telegram_bot_token,
                                    settings.telegram_chat_id, text, settings.notify_timeout_seconds)
    if settings.notify_urls:
        schemes = sorted({url.partition("://")[0] for url in settings.notify_urls})
        sends[f"Apprise ({', '.join(schemes)})"] = partial(channels.apprise, settings.notify_urls, title, text)
    return sends


def configured(settings: Settings) -> bool:
    return bool(channels_of(settings, "", ""))


def announce(settings: Settings, kinds: tuple[str, ...], text: str, title: str,
             now: datetime | None = None) -> dict[str, str | None] | None:
    """Send `text` when one of `kinds` is in `notify_on`; the first such kind is the one rate-limited (a
    failed emergency run counts as 'emergency' when that is asked for). What each channel said, or None when
    nothing was sent."""
    wanted = [kind for kind in kinds if kind in settings.notify_on]
    if not wanted or not configured(settings):
        return None
    try:
        return _send(settings, wanted[0], text, title, now or utc_now())
    except Exception as exc:  # noqa: BLE001 - a notification never breaks what it reports on
        log.warning("Notification (%s) not sent: %s", wanted[0],
                    redact(f"{type(exc).__name__}: {exc}", settings.secrets()))
        return None


def send_now(settings: Settings, text: str, title: str) -> dict[str, str | None]:
    """Send at once, unlimited (`notify --test`); what each channel said."""
    return _deliver(settings, "test", text, title)


def _send(settings: Settings, kind: str, text: str, title: str, now: datetime) -> dict[str, str | None] | None:
    last = limits.claim(settings.data_dir, kind, now)
    if last is not None:
        log.info("Notification (%s) held back: one went at %s, and at most one an hour goes per kind", kind, last)
        return None
    return _deliver(settings, kind, text, title)


def _deliver(settings: Settings, kind: str, text: str, title: str) -> dict[str, str | None]:
    results = channels.deliver(channels_of(settings, text, title), settings.notify_timeout_seconds)
    for channel, problem in results.items():
        if problem is None:
            log.info("Notification (%s) sent via %s", kind, channel)
        else:
            log.warning("Notification (%s) via %s not delivered: %s", kind, channel,
                        redact(problem, settings.secrets()))
    return {channel: problem and redact(problem, settings.secrets()) for channel, problem in results.items()}
