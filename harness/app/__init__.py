"""The Streamlit app (`harness app --run DIR`): thin pages over harness.views and harness.recommend."""

RUN_ENV = "HARNESS_APP_RUN"  # the run folder the CLI hands to the app (here: readable without importing streamlit)
