"""Overview: a verdict card per scenario first (the answer), then the scenario x strategy numbers behind it."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from harness.app.common import constraints, esc, load
from harness.metrics import headlines
from harness.recommend import KIND_WORDS, decided_on, main_caveat, recommend
from harness.views import matrix, slice_table

st.title("Which strategy, per scenario?")
data = load()
if data is not None:
    frame, samples, _ = data
    k = constraints()
    st.caption(f"assuming {esc(k.describe())} (change them on the Constraints page)")
    # the answer first: per scenario the verdict, the measure that decided, what is shown, the main caveat
    for name, rec in recommend(frame, samples, k).items():
        with st.container(border=True):
            head = f"**{esc(name)}**: **{esc(rec.recommended)}** ({esc(KIND_WORDS[rec.verdict])})"
            if not rec.meets_constraints:
                head += " (no strategy meets the constraints: closest shown)"
            st.markdown(head)
            st.info(esc(rec.headline))
            st.markdown(f"**Decided on:** {esc(decided_on(rec))}")
            if rec.shown:
                st.markdown(f"**Shown:** {esc(rec.shown)}")
            caveat = main_caveat(rec)
            if caveat:
                st.warning(esc(caveat))
            with st.expander("the evidence"):
                st.markdown("\n".join(f"- {esc(line)}" for line in rec.rationale))
                if rec.flips:
                    st.markdown("**Would change:** " + "; ".join(esc(f) for f in rec.flips))
                for c in rec.caveats:
                    if c != caveat:
                        st.warning(esc(c))
    st.subheader("The numbers")
    labels = headlines()
    available = [m for m in labels if m in frame.columns and frame[m].notna().any()]
    metric = st.selectbox("metric", available, format_func=lambda m: labels[m])
    table = matrix(frame, metric)
    fig = px.imshow(table, text_auto=".2f", zmin=0, zmax=1, color_continuous_scale="Blues", aspect="auto",
                    labels={"color": metric})
    st.plotly_chart(fig, width="stretch")
    # one table per scenario: each has its own slices and item counts, so one wide table would be mostly empty
    per_scenario = [(name, slice_table(g)) for name, g in frame.groupby("scenario", sort=False)]
    per_scenario = [(name, t) for name, t in per_scenario if len(t.columns) > 2]
    if per_scenario:
        st.subheader("Accuracy by slice")
        st.caption("seen: one training response states the whole answer; composed: training states its pieces "
                   "apart; unseen: training never states a piece; changed: the corpus update changed the answer")
        for name, t in per_scenario:
            st.markdown(f"**{esc(str(name))}**")
            st.dataframe(t.drop(columns="scenario"), hide_index=True)
