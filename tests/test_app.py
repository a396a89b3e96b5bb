"""The Streamlit app on a real (tiny-model) run folder: every page renders, constraints drive the choice."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
MAIN = ROOT / "harness" / "app" / "main.py"
PAGES = ["overview", "trade_offs", "constraints", "drill_down", "run_info", "compare_runs"]


def _app(run: Path | None, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    if run is None:
        monkeypatch.delenv("HARNESS_APP_RUN", raising=False)
    else:
        monkeypatch.setenv("HARNESS_APP_RUN", str(run))
    at = AppTest.from_file(str(MAIN), default_timeout=120)
    at.run()
    return at


@pytest.mark.slow
def test_every_page_renders_on_a_real_run(smoke_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(smoke_run, monkeypatch)
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        assert at.title and at.title[0].value, page
    at.switch_page("pages/overview.py").run()
    md = [m.value for m in at.markdown]  # the verdict card first, then the numbers
    assert md[0].startswith("**multi\\_fact\\_qa**: **") and md[1].startswith("**Decided on:**"), md[:3]
    at.switch_page("pages/compare_runs.py").run()
    at.text_input[1].input(str(smoke_run)).run()  # the run against itself: every delta is zero
    assert not at.exception and at.dataframe


@pytest.mark.slow
def test_changing_a_constraint_changes_the_recommendation(smoke_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(smoke_run, monkeypatch)
    at.switch_page("pages/constraints.py").run()
    before = [m.value for m in at.markdown if m.value.startswith("**multi\\_fact\\_qa**")]
    at.checkbox(key="limit_memory").check().run()
    at.slider(key="memory_gb").set_value(0.1).run()
    after = [m.value for m in at.markdown if m.value.startswith("**multi\\_fact\\_qa**")]
    assert not at.exception
    assert before and after and before != after
    assert "none meets them" in after[0]
    # the overview reads the same constraints
    at.switch_page("pages/overview.py").run()
    assert any("no strategy meets the constraints" in m.value for m in at.markdown)


def test_pages_are_friendly_without_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _app(None, monkeypatch)
    assert not at.exception and "harness app --run DIR" in at.info[0].value
    empty = tmp_path / "empty"
    empty.mkdir()
    for page in PAGES:
        at = _app(empty, monkeypatch)
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, page


@pytest.mark.slow
def test_harness_app_stopped_with_sigterm_frees_its_port(smoke_run: Path) -> None:
    """A supervisor stops the app with SIGTERM: the server goes, and the port is free again."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = subprocess.Popen([sys.executable, "-m", "harness", "app", "--run", str(smoke_run), "--port", str(port)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the app never listened")
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))  # free: nothing serves it any more
    finally:
        if app.poll() is None:
            app.kill()
