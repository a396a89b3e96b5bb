"""The app in a real browser: headless Chromium, driven over the DevTools protocol, screenshots every page of a
running `harness app`.

The test waits in real time on what Streamlit itself says (its app element's script state is `notRunning`),
not on a virtual-time budget: virtual time runs on its own clock while the server answers over a websocket, so a
dump could come back before the page was drawn (compare_runs never showed its title in 120 s of tries in a CI
run of f5a9e79).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from test_app import PAGES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--remote-debugging-port=0"]
WIDTH, HEIGHT = 1400, 1000

TITLES = {"overview": "Which strategy, per scenario?", "trade_offs": "Trade-offs", "constraints": "Your constraints",
          "drill_down": "Drill-down", "run_info": "Run info", "compare_runs": "Compare two runs"}

# the page as Streamlit draws it: the main area's titles, whether the script run has ended, what is still loading
_STATE = """JSON.stringify({
  titles: [...document.querySelectorAll('[data-testid=stMain] h1')].map(e => e.innerText),
  script: document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') ?? null,
  loading: document.querySelectorAll('[data-testid=stSkeleton]').length,
  errors: [...document.querySelectorAll('[data-testid=stException]')].map(e => e.innerText.slice(0, 300)),
})"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Browser:
    """One headless Chromium and its first tab, spoken to over the DevTools protocol's websocket."""

    def __init__(self, deadline_s: float = 60) -> None:
        from websockets.sync.client import connect  # streamlit's own dependency

        self.profile = Path(tempfile.mkdtemp(prefix="harness-chromium-"))
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}",
                                      f"--window-size={WIDTH},{HEIGHT}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, deadline = self.profile / "DevToolsActivePort", time.time() + deadline_s
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if time.time() > deadline or self.proc.poll() is not None:
                self.close()
                pytest.fail("headless Chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().splitlines()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
            tab = next(t for t in json.load(answer) if t["type"] == "page")
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(tab["webSocketDebuggerUrl"], max_size=None, open_timeout=20))
        self.next_id = 0
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:  # events arrive between answers; skip them
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                assert "error" not in message, (method, message["error"])
                return message.get("result", {})

    def state(self) -> dict[str, Any]:
        result = self.call("Runtime.evaluate", expression=_STATE, returnByValue=True)
        return json.loads(result["result"]["value"])

    def screenshot(self, path: Path) -> None:
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        if getattr(self, "stack", None) is not None:
            self.stack.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def _drawn(browser: _Browser, url: str, title: str, deadline_s: float = 120) -> dict[str, Any]:
    """Open url and wait until it shows its title (not the page before it), its script run has ended and nothing
    is still loading; the page's last state."""
    browser.call("Page.navigate", url=url)
    deadline, state = time.time() + deadline_s, {}
    while time.time() < deadline:
        state = browser.state()
        if title in state["titles"] and state["script"] == "notRunning" and not state["loading"]:
            time.sleep(1)  # charts paint a moment after their element exists
            return browser.state()
        time.sleep(0.25)
    return state


def _ink(png: Path) -> float:
    """Share of the main area's pixels (right of the sidebar) that are not (near) white; a blank page has none."""
    from PIL import Image

    img = Image.open(png).convert("L")
    main = img.crop((320, 0, img.width, img.height))
    histogram = main.histogram()
    return sum(histogram[:235]) / (main.width * main.height)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is installed by .ci/run (apt-get install chromium)")
def test_every_page_has_content_in_a_real_browser(smoke_run: Path, tmp_path: Path) -> None:
    port = _free_port()
    app = subprocess.Popen([sys.executable, "-m", "harness", "app", "--run", str(smoke_run), "--port", str(port)],
                           cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    browser = None
    try:
        deadline = time.time() + 120
        while True:  # the server is up once it answers its health check
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or app.poll() is not None:
                pytest.fail("the app's server never answered its health check")
            time.sleep(1)
        browser = _Browser()
        for page in PAGES:
            state = _drawn(browser, base + ("/" if page == "overview" else f"/{page}"), TITLES[page])
            assert TITLES[page] in state.get("titles", []), f"{page}: its title never appeared ({state})"
            assert state["script"] == "notRunning", f"{page}: its script never finished ({state})"
            assert not state["errors"], f"{page} shows an exception: {state['errors']}"
            shot = tmp_path / f"{page}.png"
            browser.screenshot(shot)
            ink = _ink(shot)
            assert ink > 0.005, f"{page} looks blank ({ink:.4f} of the main area inked)"
    finally:
        if browser is not None:
            browser.close()
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
