"""The replay's report page in a real browser: a short replay of the bundled bars rendered in headless Chromium
at a laptop's and a phone's width, with no horizontal overflow, every picture loaded and the verdict on the
first screen; and its pictures drawn from the same numbers as its tables, labelled with the run's timeframe.

Chromium is driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: fds 3 and 4, messages
separated by NUL), so the exact viewport can be set and no Python package is needed.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from autotrainer.config import load_settings
from autotrainer.replay.simulate import run_replay
from autotrainer.replay.summary import POLICIES, summarise
from autotrainer.report import replay_charts, replay_figures
from autotrainer.report.replay_html import write_report

# tests/replay/test_replay.py's small, fast retrains over a day and a half, with no floor: the first candidate
# is published at once, so all three servings share the window's bars and every chart has something to draw.
FAST = {"initial_bars": 3000, "daily_bars": 3000, "weekend_bars": 4000, "emergency_bars": 3000,
        "initial_rounds": 10, "daily_rounds": 10, "weekend_rounds": 10, "emergency_rounds": 10,
        "publish_floor_auc": 0.0, "min_bars": 1000, "emergency_rule": "seed"}
START = datetime(2025, 11, 9, 22, 0, tzinfo=timezone.utc)  # 2025-11-10 05:00 WIB
END = datetime(2025, 11, 11, 10, 0, tzinfo=timezone.utc)
MEASURE = """(() => {
  const v = document.getElementById("verdict").getBoundingClientRect();
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
          innerHeight: window.innerHeight, verdict: [v.top, v.bottom, v.width, v.height],
          images: Array.from(document.images, i => [i.getAttribute("src"), i.complete, i.naturalWidth])};
})()"""


class Chromium:
    """Headless Chromium and one page, over the DevTools protocol on a pipe."""

    def __init__(self, binary: str, profile: Path) -> None:
        ours_to_it, self._out = os.pipe()
        self._in, it_to_ours = os.pipe()
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (ours_to_it, it_to_ours)]  # clear of 3 and 4
        for fd in (ours_to_it, it_to_ours):
            os.close(fd)
        args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--remote-debugging-pipe",
                f"--user-data-dir={profile}", "about:blank"]
        self._process = subprocess.Popen(["bash", "-c", f'exec "$0" "$@" 3<&{high[0]} 4>&{high[1]}', binary, *args],
                                         pass_fds=high, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for fd in high:
            os.close(fd)
        self._buffer, self._next, self.events = b"", 0, []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=True)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], 120)
            chunk = os.read(self._in, 1 << 16) if ready else b""
            assert chunk, "chromium stopped answering on its DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str, width: int, height: int, phone: bool) -> None:
        """Load `url` in a `width` x `height` viewport (a phone's: the page's viewport meta applies)."""
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=phone)
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.append(self._read())

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", session=True, expression=expression, returnByValue=True)["result"]["value"]

    def screenshot(self, path: Path) -> Path:
        """The whole page as a PNG, for a person to look at (the test leaves it beside the report)."""
        size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = self.call("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True, clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        """Ask the browser to quit and close the pipe (it quits when the pipe closes, too); stop it if it hangs."""
        os.write(self._out, json.dumps({"id": self._next + 1, "method": "Browser.close"}).encode() + b"\0")
        os.close(self._out)
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._in)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real replay of the bundled bars and its report."""
    root = tmp_path_factory.mktemp("page")
    settings = load_settings(None, {**FAST, "models_dir": root / "live" / "models",
                                    "data_dir": root / "live" / "data"}, env={})
    run = run_replay(settings, root / "out", START, END)
    summary = summarise(run)
    return {"run": run, "summary": summary, "path": write_report(run, summary)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it and runs this test")
    chromium = Chromium(binary, tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


@pytest.mark.parametrize("width, phone", [(1280, False), (420, True)])
def test_the_page_fits_the_screen_loads_every_picture_and_opens_with_the_verdict(
        report: dict[str, Any], browser: Chromium, width: int, phone: bool) -> None:
    browser.open(report["path"].as_uri(), width, 900, phone)
    seen = browser.evaluate(MEASURE)
    shot = browser.screenshot(report["path"].with_name(f"screen-{width}.png"))
    assert shot.read_bytes().startswith(b"\x89PNG"), shot
    assert seen["innerWidth"] == width  # at 420 only with the viewport meta; else a phone lays out 980 px
    assert seen["scrollWidth"] <= seen["innerWidth"], (seen, shot)
    names = re.findall(r'<img src="([^"]+)"', report["path"].read_text(encoding="utf-8"))
    assert [src for src, _, _ in seen["images"]] == names and len(names) == 5
    assert all(complete and natural > 0 for _, complete, natural in seen["images"]), seen["images"]
    top, bottom, box_width, box_height = seen["verdict"]
    assert box_width > 0 and box_height > 0
    if not phone:
        assert 0 <= top and bottom <= seen["innerHeight"], seen
    text = browser.evaluate('document.getElementById("verdict").innerText')
    assert report["summary"]["verdict"]["text"].split(". ")[0] in text


def test_the_page_is_one_offline_file_with_captioned_figures_and_boxed_tables(report: dict[str, Any]) -> None:
    page = report["path"].read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "@import" not in page and "url(" not in page
    figures = re.findall(r"<figure><a href=\"([^\"]+)\"><img src=\"\1\"[^>]*></a><figcaption>([^<]+)</figcaption>"
                         r"</figure>", page)
    assert [name for name, _ in figures] == re.findall(r'<img src="([^"]+)"', page)
    assert all(len(caption) > 80 for _, caption in figures)
    for name, _ in figures:
        assert (report["path"].parent / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert page.count("<table") == len(re.findall(r'<div class="scroll"><table[ >]', page)) > 0
    assert "<th></th>" not in page
    assert page.index('<section id="verdict">') < page.index("<table")


def test_the_cumulative_auc_ends_at_the_tables_realised_auc(report: dict[str, Any]) -> None:
    lines = {line.name: line for line in replay_figures.cumulative_realised(report["run"])}
    assert set(lines) == set(POLICIES) and report["summary"]["common_bars"] >= replay_figures.MIN_AUC_ROWS
    for name, line in lines.items():
        numbers = report["summary"]["baselines"][name]
        assert line.value[-1] == pytest.approx(numbers["realised_auc"], abs=1e-6)
        assert (line.low[-1], line.high[-1]) == pytest.approx((numbers["realised_auc_low"],
                                                               numbers["realised_auc_high"]), abs=1e-6)
        assert all(lo <= v <= hi for lo, v, hi in zip(line.low, line.value, line.high))
        assert list(line.when) == sorted(line.when)


def test_money_lines_end_at_the_tables_totals_and_mark_the_worst_fall(report: dict[str, Any]) -> None:
    run, summary = report["run"], report["summary"]
    lines, drawdown = replay_figures.money_lines(run)
    by_name = {line.name: line for line in lines}
    assert set(by_name) == {*POLICIES, "always_long", "buy_and_hold"}
    for name in POLICIES:
        assert by_name[name].value[-1] == pytest.approx(summary["baselines"][name]["edge_total"], abs=0.01)
    policy = np.asarray(by_name["policy"].value)
    falls = np.maximum.accumulate(policy) - policy
    if drawdown is None:
        assert falls.max() == 0
    else:
        peak, trough, depth = drawdown
        when = list(by_name["policy"].when)
        assert depth > 0 and depth == pytest.approx(falls.max()) and peak < trough
        assert policy[when.index(peak)] - policy[when.index(trough)] == pytest.approx(depth)


def test_importance_covers_every_published_model(report: dict[str, Any]) -> None:
    run = report["run"]
    rows, features, models, whose = replay_figures.importance_across_models(run)
    assert models == sum(t.published for t in run.trained) > 0 and whose == "published"
    assert features == len(next(t for t in run.trained if t.published).candidate.booster.feature_names)
    assert len(rows) == replay_figures.TOP_FEATURES
    assert [r.median for r in rows] == sorted((r.median for r in rows), reverse=True)
    assert all(r.q25 <= r.median <= r.q75 for r in rows)


def test_every_label_that_names_a_bar_says_the_runs_timeframe(report: dict[str, Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    texts: list[str] = []

    def keep_text(fig, path):  # noqa: ANN001 - matplotlib objects
        for ax in fig.axes:
            texts.extend([ax.get_title(), ax.get_xlabel(), ax.get_ylabel(), *ax.get_legend_handles_labels()[1]])
        path.write_bytes(b"")
        return path

    monkeypatch.setattr(replay_charts, "save", keep_text)
    run = report["run"]
    hourly = dataclasses.replace(run, settings=dataclasses.replace(run.settings, timeframe="H1"))
    figures = replay_figures.draw(hourly, tmp_path)
    words = texts + [f.caption for f in figures]
    assert not [t for t in words if "M15" in t]
    naming = [t for t in words if re.search(r"\bbars?\b", t)]
    assert len(naming) >= 6 and all("H1 bar" in t for t in naming), naming
