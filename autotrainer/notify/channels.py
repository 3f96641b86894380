"""Where messages go: the Telegram Bot API's sendMessage (what the bot itself calls), and any service Apprise
knows. Every channel runs in its own thread and is given up after the timeout: a hanging server costs a run
at most that long, and its failure comes back as words, never as an exception."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

TIMED_OUT = "no answer within {:g} s (timeout); gave up"


class DeliveryError(Exception):
    """A channel refused or failed to take a message; the text says why, without any secret."""


def telegram(api_url: str, token: str, chat_id: str, text: str, timeout: float) -> None:
    """POST `text` as HTML to `{api_url}/bot{token}/sendMessage`, as the bot's TelegramNotifier does."""
    import socket
    import urllib.error
    import urllib.request

    body = json.dumps({"chat_id": chat_id, "text": text, "parse_mode": "HTML", "disable_notification": False})
    request = urllib.request.Request(f"{api_url.rstrip('/')}/bot{token}/sendMessage", data=body.encode("utf-8"),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an operator's own URL
            answer = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code}{_description(exc.read())}") from None
    except (socket.timeout, TimeoutError):
        raise DeliveryError(TIMED_OUT.format(timeout)) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            raise DeliveryError(TIMED_OUT.format(timeout)) from None
        raise DeliveryError(f"cannot reach the Bot API ({exc.reason})") from None
    except ValueError:
        raise DeliveryError("the Bot API answered something that is not JSON") from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise DeliveryError(f"the Bot API refused it{_description(json.dumps(answer).encode())}")


def _description(raw: bytes) -> str:
    """Telegram's own `description` of a refusal, when it gave one."""
    try:
        described = json.loads(raw).get("description")
    except (ValueError, AttributeError):
        return ""
    return f": {described}" if described else ""


def apprise(urls: tuple[str, ...], title: str, html: str) -> None:
    """Send through Apprise to every URL (its own plug-in per service). Its log lines are caught and
    turned into the reason, not printed: they may name the URL."""
    try:
        import apprise as library
    except ImportError:
        raise DeliveryError("the 'apprise' package is not installed: pip install 'autotrainer[notify]'") from None
    caught = _Caught()
    logger = logging.getLogger("apprise")
    logger.addHandler(caught)
    propagate, logger.propagate = logger.propagate, False
    try:
        app = library.Apprise()
        unknown = sum(1 for url in urls if not app.add(url))
        if unknown:
            raise DeliveryError(f"{unknown} of the notify_urls is not a URL Apprise knows")
        if not app.notify(body=html, title=title, body_format=library.NotifyFormat.HTML):
            raise DeliveryError(caught.last or "Apprise could not deliver it")
    finally:
        logger.removeHandler(caught)
        logger.propagate = propagate


class _Caught(logging.Handler):
    """Keeps the last warning Apprise logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


def deliver(sends: dict[str, Callable[[], None]], timeout: float) -> dict[str, str | None]:
    """Run every channel at once; wait at most `timeout` seconds in all. For each: None when delivered,
    else why not (an unfinished one is abandoned: its thread is a daemon and ends with its own timeout)."""
    results: dict[str, str | None] = {name: TIMED_OUT.format(timeout) for name in sends}

    def run(name: str, send: Callable[[], None]) -> None:
        try:
            send()
            results[name] = None
        except DeliveryError as exc:
            results[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 - a channel's fault is reported, never raised into a run
            results[name] = f"{type(exc).__name__}: {exc}"

    threads = [threading.Thread(target=run, args=item, name=f"notify-{item[0]}", daemon=True)
               for item in sends.items()]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(results)
