"""Constraints: the user's budgets and needs; recommendations update as they change."""

from __future__ import annotations

import streamlit as st

from harness.app.common import CITATIONS, DATA_CHANGES, constraints, esc, load, set_constraints
from harness.recommend import KIND_WORDS, recommend

st.title("Your constraints")
data = load()
if data is not None:
    frame, samples, _ = data
    k = constraints()
    max_gb = max(1.0, float(frame["peak_memory_mb"].astype(float).max()) / 1024 * 1.5)
    limit = st.checkbox("limit memory", value=k.memory_gb is not None, key="limit_memory")
    memory = st.slider("memory budget (GB)", 0.1, round(max_gb, 1), float(k.memory_gb or round(max_gb, 1)),
                       step=0.1, key="memory_gb", disabled=not limit)
    gpu = st.checkbox("the budget is GPU VRAM", value=k.gpu_memory, key="gpu_memory")
    changes = st.select_slider("how often the knowledge changes", DATA_CHANGES, value=k.data_changes,
                               key="data_changes")
    cite = st.radio("answers must cite sources", CITATIONS, index=CITATIONS.index(k.citations),
                    key="citations", horizontal=True)
    with st.expander("weights"):
        wa = st.slider("accuracy", 0.0, 2.0, k.w_accuracy, 0.05, key="w_accuracy")
        wf = st.slider("faithfulness, on right answers (supported accuracy)", 0.0, 2.0, k.w_faithfulness, 0.05,
                       key="w_faithfulness")
    margin = st.slider("margin: accuracy points you would give up for a cheaper strategy", 0.0, 0.2, k.margin, 0.01,
                       key="margin")
    set_constraints(memory_gb=memory if limit else None, gpu_memory=gpu, data_changes=changes, citations=cite,
                    w_accuracy=wa, w_faithfulness=wf, margin=margin)
    k = constraints()
    st.subheader("Recommendations under these constraints")
    for name, rec in recommend(frame, samples, k).items():
        verdict = (f"{rec.recommended} ({KIND_WORDS[rec.verdict]})" if rec.meets_constraints else
                   f"none meets them (closest: {rec.recommended})")
        st.markdown(f"**{esc(name)}**: {esc(verdict)}")
        st.caption(esc(rec.headline))
        for s, why in rec.excluded.items():
            st.caption(f"excluded {esc(s)}: {esc(why)}")
