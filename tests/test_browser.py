"""The app in a real browser: headless Chromium screenshots every page of a running `harness app`."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_app import PAGES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium(*args: str, timeout: int = 90) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="harness-chromium-")
    try:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


TITLES = {"overview": "Which strategy, per scenario?", "trade_offs": "Trade-offs", "constraints": "Your constraints",
          "drill_down": "Drill-down", "run_info": "Run info", "compare_runs": "Compare two runs"}


def _ink(png: Path) -> float:
    """Share of the main area's pixels (right of the sidebar) that are not (near) white; a blank page has none."""
    from PIL import Image

    img = Image.open(png).convert("L")
    main = img.crop((320, 0, img.width, img.height))
    pixels = list(main.getdata())
    return sum(p < 235 for p in pixels) / len(pixels)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is installed by .ci/run (apt-get install chromium)")
def test_every_page_has_content_in_a_real_browser(smoke_run: Path, tmp_path: Path) -> None:
    port = _free_port()
    app = subprocess.Popen([sys.executable, "-m", "harness", "app", "--run", str(smoke_run), "--port", str(port)],
                           cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # the first render must have finished, or the first shot is blank
            dom = _chromium("--virtual-time-budget=15000", "--dump-dom", base + "/").stdout
            if "Which strategy, per scenario?" in dom:
                break
            time.sleep(2)
        else:
            pytest.fail("the app never rendered its overview page")
        for page in PAGES:
            url = base + ("/" if page == "overview" else f"/{page}")
            shot = tmp_path / f"{page}.png"
            titled, ink = False, 0.0
            # a shot taken before the script run finishes is blank; a virtual-time budget buys only a second
            # or two of real time while the server runs the page, so try again (each a fresh session) until
            # a real deadline: with four fixed tries, compare_runs stayed blank in four of six runs of a clean clone
            deadline, budgets = time.time() + 120, itertools.cycle((20000, 40000, 60000, 90000))
            while time.time() < deadline:
                budget = next(budgets)
                titled = TITLES[page] in _chromium(f"--virtual-time-budget={budget}", "--dump-dom", url).stdout
                if titled:
                    _chromium("--window-size=1400,1000", f"--virtual-time-budget={budget}", f"--screenshot={shot}",
                              url)
                    ink = _ink(shot) if shot.is_file() else 0.0
                    if ink > 0.005:
                        break
                time.sleep(2)
            assert titled, f"{page}: its title never appeared in the page"
            assert ink > 0.005, f"{page} looks blank ({ink:.4f} of the main area inked)"
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
