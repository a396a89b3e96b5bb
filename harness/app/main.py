"""Entry point of the harness app: the page frame and navigation (`harness app --run DIR`)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from harness.app.common import esc, run_dir

HERE = Path(__file__).resolve().parent

st.set_page_config(page_title="harness: RAG, LoRA, QLoRA or a hybrid?", layout="wide")
pages = [
    st.Page(str(HERE / "pages" / "overview.py"), title="Overview", default=True),
    st.Page(str(HERE / "pages" / "trade_offs.py"), title="Trade-offs"),
    st.Page(str(HERE / "pages" / "constraints.py"), title="Constraints"),
    st.Page(str(HERE / "pages" / "drill_down.py"), title="Drill-down"),
    st.Page(str(HERE / "pages" / "run_info.py"), title="Run info"),
    st.Page(str(HERE / "pages" / "compare_runs.py"), title="Compare runs"),
]
page = st.navigation(pages)
with st.sidebar:
    folder = run_dir()
    st.caption(f"run folder: {esc(folder)}" if folder else "no run folder")
page.run()
