"""Compare runs: two run folders (a CPU and a GPU run, two models) side by side."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from harness.app.common import load, run_dir
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
        st.markdown(f"A: {a[2].get('model', {}).get('name')} on {a[2].get('device', {}).get('name')} · "
                    f"B: {b[2].get('model', {}).get('name')} on {b[2].get('device', {}).get('name')}")
        st.dataframe(compare_runs(a[0], b[0]), hide_index=True)
