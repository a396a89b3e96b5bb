"""What every page shares: the run folder (cached), the user's constraints, friendly empty states."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import streamlit as st

from harness.app import RUN_ENV
from harness.constraints import CITATIONS, DATA_CHANGES, Constraints
from harness.errors import HarnessError
from harness.results import RESULTS_FILE, read_run

# every character Streamlit's markdown acts on (emphasis, links and images, HTML, headings, lists, LaTeX)
_MARKDOWN_ACTIVE = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def esc(text: Any) -> str:
    """Untrusted text (model answers, corpus passages, names read from a run folder) placed inside markdown:
    escaped so that it shows as the characters it is and can never become an image, a link or markup."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", str(text))


def run_dir() -> Path | None:
    value = st.session_state.get("run_dir") or os.environ.get(RUN_ENV)
    return Path(value) if value else None


@st.cache_data(show_spinner=False)
def _load(path: str, stamp: float) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    return read_run(path)


def load(path: Path | None = None) -> tuple[Any, list[dict[str, Any]], dict[str, Any]] | None:
    """(frame, samples, manifest), or None with a message on the page when there is nothing to show yet."""
    path = path or run_dir()
    if path is None:
        st.info("No run folder given. Start the app with `harness app --run DIR` (DIR from `harness run --out DIR`).")
        return None
    results = path / RESULTS_FILE
    try:
        frame, samples, manifest = _load(str(path), results.stat().st_mtime if results.is_file() else 0.0)
    except HarnessError as exc:
        st.info(f"Nothing to show yet: {esc(exc)}. A run writes its folder after its first cell.")
        return None
    if not len(frame) or not (frame["status"] == "ok").any():
        st.info(f"{esc(path)}: no finished cell yet. The page fills in as `harness run` finishes cells.")
        return None
    return frame, samples, manifest


def constraints() -> Constraints:
    """The constraints set on the Constraints page (defaults until then)."""
    raw = st.session_state.get("constraints") or {}
    return Constraints(**raw)


def set_constraints(**values: Any) -> None:
    st.session_state["constraints"] = values


__all__ = ["CITATIONS", "DATA_CHANGES", "esc", "constraints", "load", "run_dir", "set_constraints"]
