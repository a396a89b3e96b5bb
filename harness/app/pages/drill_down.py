"""Drill-down: one question, every strategy's answer side by side, its sources and unsupported claims."""

from __future__ import annotations

import streamlit as st

from harness.app.common import esc, load
from harness.views import answers, items

st.title("Drill-down")
data = load()
if data is not None:
    frame, samples, _ = data
    scenario = st.selectbox("scenario", list(dict.fromkeys(frame["scenario"])))
    eval_set = st.radio("question set", ["eval", "update", "train"], horizontal=True)
    choices = items(samples, scenario, eval_set)
    if not choices:
        st.info(f"{esc(scenario)} has no '{eval_set}' questions in this run.")
    else:
        item_id = st.selectbox("item", [i for i, _ in choices],
                               format_func=lambda i: f"{i}: {dict(choices)[i][:90]}")
        recs = answers(samples, scenario, item_id, eval_set)
        st.markdown("**Question.**")
        st.text(recs[0]["question"])
        st.markdown("**Reference.**")
        st.text(recs[0]["reference"])
        cols = st.columns(min(len(recs), 3))
        for n, r in enumerate(recs):
            with cols[n % len(cols)].container(border=True):
                acc = r["accuracy"]
                faith = r["faithfulness"]
                st.markdown(f"**{esc(r['strategy'])}**" + (f" (seed {esc(r['seed'])})" if r["seed"] else "")
                            + f" · accuracy {acc:.0f}" + ("" if faith is None else f" · faithfulness {faith:.2f}"))
                st.text(r["answer"] or "(empty answer)")
                if r["unsupported"]:
                    st.markdown("Unsupported claims:")
                    st.text("\n".join(f"- {c}" for c in r["unsupported"]))
                if r["sources"]:
                    with st.expander(f"{len(r['sources'])} retrieved sources"):
                        for sid, text in r["sources"]:
                            st.text(f"[{sid}] {text}")
