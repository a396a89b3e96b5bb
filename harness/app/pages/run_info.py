"""Run info: the manifest (model, hardware, versions, seeds) and every cell's status."""

from __future__ import annotations

import streamlit as st

from harness.app.common import esc, load

st.title("Run info")
data = load()
if data is not None:
    frame, _, manifest = data
    model = manifest.get("model", {})
    device = manifest.get("device", {})
    st.markdown(f"- **model**: {esc(model.get('name'))} ({esc(model.get('identity'))})\n"
                f"- **device**: {esc(device.get('name'))} ({esc(device.get('device'))}, {esc(device.get('dtype'))}), "
                f"{esc(manifest.get('cpu_count'))} CPUs, {float(manifest.get('ram_mb') or 0) / 1024:.0f} GiB RAM\n"
                f"- **profile**: {esc(manifest.get('profile', {}).get('name'))}; **seeds**: {esc(manifest.get('seeds'))}\n"
                f"- **faithfulness**: {esc(manifest.get('faithfulness'))}\n"
                f"- **git commit**: {esc(manifest.get('git_commit'))}; started {esc(manifest.get('started'))}, "
                f"finished {esc(manifest.get('finished'))}")
    st.subheader("cells")
    st.dataframe(frame[["scenario", "strategy", "seed", "status", "error", "cell_key"]], hide_index=True)
    st.subheader("versions")
    st.json(manifest.get("versions", {}))
    with st.expander("full manifest"):
        st.json(manifest)
