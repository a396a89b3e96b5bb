"""Run info: the manifest (model, hardware, versions, seeds) and every cell's status."""

from __future__ import annotations

import streamlit as st

from harness.app.common import load

st.title("Run info")
data = load()
if data is not None:
    frame, _, manifest = data
    model = manifest.get("model", {})
    device = manifest.get("device", {})
    st.markdown(f"- **model**: {model.get('name')} (`{model.get('identity')}`)\n"
                f"- **device**: {device.get('name')} ({device.get('device')}, {device.get('dtype')}), "
                f"{manifest.get('cpu_count')} CPUs, {manifest.get('ram_mb', 0) / 1024:.0f} GiB RAM\n"
                f"- **profile**: {manifest.get('profile', {}).get('name')}; **seeds**: {manifest.get('seeds')}\n"
                f"- **faithfulness**: {manifest.get('faithfulness')}\n"
                f"- **git commit**: `{manifest.get('git_commit')}`; started {manifest.get('started')}, "
                f"finished {manifest.get('finished')}")
    st.subheader("cells")
    st.dataframe(frame[["scenario", "strategy", "seed", "status", "error", "cell_key"]], hide_index=True)
    st.subheader("versions")
    st.json(manifest.get("versions", {}))
    with st.expander("full manifest"):
        st.json(manifest)
