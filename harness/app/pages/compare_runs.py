"""Compare runs: two run folders (a CPU and a GPU run, two models) side by side."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from harness.app.common import esc, load, run_dir
from harness.views import compare_runs

st.title("Compare two runs")
first = st.text_input("run A", value=str(run_dir() or ""))
second = st.text_input("run B", value="", placeholder="another run folder")
if not second:
    st.info("Give a second run folder to compare with.")
else:
    a = load(Path(first)) if first else None
    b = load(Path(second))
    if a is not None and b is not None:
        if a[2].get("format") != b[2].get("format"):
            st.error(f"run A is run-folder format {esc(a[2].get('format'))} and run B format "
                     f"{esc(b[2].get('format'))}: they cannot be compared")
        else:
            st.markdown(f"A: {esc(a[2].get('model', {}).get('name'))} on {esc(a[2].get('device', {}).get('name'))}"
                        f" · B: {esc(b[2].get('model', {}).get('name'))} on {esc(b[2].get('device', {}).get('name'))}")
            st.dataframe(compare_runs(a[0], b[0]), hide_index=True)
