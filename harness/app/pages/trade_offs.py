"""Trade-offs: accuracy against peak memory and training time, Pareto front marked, CIs as error bars."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from harness.app.common import esc, load
from harness.views import qlora_vs_lora, tradeoff_points

st.title("Trade-offs")
data = load()
if data is not None:
    frame, _, _ = data
    pts = tradeoff_points(frame)
    scenario = st.selectbox("scenario", list(dict.fromkeys(pts["scenario"])))
    sub = pts[pts["scenario"] == scenario].copy()
    sub["err_plus"] = (sub["ci_high"] - sub["accuracy"]).fillna(0)
    sub["err_minus"] = (sub["accuracy"] - sub["ci_low"]).fillna(0)
    sub["front"] = sub["pareto"].map({True: "Pareto front", False: "dominated"})
    left, right = st.columns(2)
    for col, x, label in ((left, "peak_gb", "peak memory (GB)"), (right, "train_min", "training time (min)")):
        fig = px.scatter(sub, x=x, y="accuracy", text="strategy", color="front", error_y="err_plus",
                         error_y_minus="err_minus", labels={x: label}, range_y=[-0.05, 1.05])
        front = sub[sub["pareto"]].sort_values(x)
        fig.add_scatter(x=front[x], y=front["accuracy"], mode="lines", name="front", line={"dash": "dot"})
        fig.update_traces(textposition="top center")
        col.plotly_chart(fig, width="stretch")
    kinds = ", ".join(sorted(set(sub["memory_kind"])))
    st.caption(f"memory measured as {esc(kinds)} (cuda: torch peak allocated; cpu_rss: process peak resident memory)")
    left, right = st.columns(2)
    left.plotly_chart(px.bar(sub, x="strategy", y="train_min", title="training time (min)"), width="stretch")
    right.plotly_chart(px.bar(sub, x="strategy", y="peak_gb", title="peak memory (GB)"), width="stretch")
    ratios = qlora_vs_lora(frame)
    st.subheader("QLoRA vs LoRA, measured")
    if len(ratios):
        st.caption("step_ratio: QLoRA's seconds per optimizer step over LoRA's (the received wisdom's ~1.3 is this); "
                   "time_ratio: its time to fit over LoRA's, each trained until it fit its training split")
        st.dataframe(ratios, hide_index=True)
    else:
        st.info("This run has no scenario with both a lora and a qlora cell.")
