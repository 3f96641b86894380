"""Real HTTP servers on 127.0.0.1 for the notification tests: one that speaks the Telegram Bot API's
sendMessage (answering as Telegram does), one that hangs past any timeout, one that answers 500, and a JSON
webhook for Apprise's json:// plug-in. Each records the requests it received. And real bars a run fails on,
for the notifications of a failed run."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

HANG_SECONDS = 30  # far beyond any notify_timeout_seconds a test sets; released when the server stops


class Recorded:
    """What a server received: (path, JSON body) per POST."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []

    @property
    def texts(self) -> list[str]:
        return [body.get("text") or body.get("message") for _, body in self.requests]


def _handler(mode: str, recorded: Recorded, release: threading.Event) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's API
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            recorded.requests.append((self.path, body))
            if mode == "hang":
                release.wait(HANG_SECONDS)
                return
            if mode == "500":
                self._answer(500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
            elif mode == "webhook":
                self._answer(200, {})
            else:  # Telegram's answer to sendMessage
                self._answer(200, {"ok": True, "result": {"message_id": len(recorded.requests), "date": 0,
                                                          "chat": {"id": body.get("chat_id"), "type": "private"},
                                                          "text": body.get("text")}})

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # no request lines on the test's stderr
            pass

    return Handler


@contextmanager
def local_server(mode: str = "telegram") -> Iterator[tuple[str, Recorded]]:
    """A server in `mode` ('telegram', 'hang', '500' or 'webhook') on a free port: (base URL, its record)."""
    recorded, release = Recorded(), threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(mode, recorded, release))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def broken_bars(sample_frame: pd.DataFrame, path: Path) -> Path:
    """The newest 2,000 real bars as the broker exports them, one row with its high below its low: a run on
    them fails (exit 2) while reading, before anything is trained."""
    bad = sample_frame.iloc[-2000:].reset_index(drop=True)
    bad.loc[1234, "high"] = bad.loc[1234, "low"] - 1
    bad["time"] = bad["time"].dt.tz_convert("Europe/Athens").dt.strftime("%Y-%m-%d %H:%M:%S")
    bad.to_csv(path, index=False)
    return path
