"""The docs stay true: the site builds with --strict, and its computed pages are what the code and the run say."""

from __future__ import annotations

import dataclasses
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "docs"))

import generate  # noqa: E402  (docs/generate.py)


def test_the_metrics_page_is_generated_from_the_metric_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import metrics

    assert (ROOT / "docs" / "metrics-table.md").read_text() == generate.metrics_page(), \
        "docs/metrics-table.md is stale: run python docs/generate.py"
    changed = [dataclasses.replace(m, label="right answers, held out") if m.name == "accuracy" else m
               for m in metrics.all_metrics()]
    monkeypatch.setattr(metrics, "all_metrics", lambda: changed)
    page = generate.metrics_page()
    assert "| `accuracy` | right answers, held out |" in page and "accuracy (held out)" not in page


def test_the_command_reference_is_the_parser() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == generate.cli_page(), "docs/cli.md is stale: run python docs/generate.py"
    assert "--train-stop {fit,budget}" in generate.cli_page()


def test_the_results_page_is_the_committed_run() -> None:
    run = ROOT / "docs" / "run"
    page = generate.results_page(run)
    assert (ROOT / "docs" / "results.md").read_text() == page, "docs/results.md is stale: run python docs/generate.py"
    import pandas as pd

    frame = pd.read_parquet(run / "results.parquet")
    ok = int((frame["status"] == "ok").sum())
    assert page.count("\n| ") == 2 * (ok + 1)  # two tables: a line per finished cell, + the header
    assert all(f"- **{name}**: " in page for name in frame["scenario"].unique())  # a verdict per scenario


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="the docs extra installs mkdocs")
def test_the_site_builds_strict(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "site" / "metrics-table" / "index.html").is_file()
