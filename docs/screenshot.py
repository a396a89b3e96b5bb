"""Regenerate docs/img/app-overview.png: the app's Overview page on a run folder, shot by headless Chromium.

    python docs/screenshot.py [--run docs/run] [--out docs/img/app-overview.png]

The README's picture is this file; it is never edited by hand. Needs chromium (apt-get install chromium).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
TITLE = "Which strategy, per scenario?"


def _chromium(binary: str, *args: str) -> str:
    profile = tempfile.mkdtemp(prefix="harness-shot-")
    try:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                              timeout=180).stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", type=Path, default=ROOT / "docs" / "run")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "app-overview.png")
    args = ap.parse_args(argv)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        print("error: chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = subprocess.Popen([sys.executable, "-m", "harness", "app", "--run", str(args.run), "--port", str(port)],
                           cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.time() + 180
        while time.time() < deadline and TITLE not in _chromium(binary, "--virtual-time-budget=20000", "--dump-dom", url):
            time.sleep(2)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        _chromium(binary, "--window-size=1400,1000", "--virtual-time-budget=60000", f"--screenshot={args.out}", url)
    finally:
        app.terminate()
        app.wait(timeout=30)
    if not args.out.is_file():
        print(f"error: no screenshot written to {args.out}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
