"""The Streamlit app (`harness app --run DIR`): thin pages over harness.views and harness.recommend."""
