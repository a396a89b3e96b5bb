"""The results schema (column names are a contract the app and the report read) and the run-folder reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# identity and provenance of a cell
ID_COLUMNS = ["scenario", "strategy", "model", "seed", "profile", "status", "error"]
PROVENANCE_COLUMNS = ["model_identity", "device", "device_name", "dtype", "git_commit", "harness_version",
                      "versions", "cell_key", "created_at"]
# measurements; NaN/None where a column does not apply (a closed-book cell has no index)
METRIC_COLUMNS = [
    "accuracy", "accuracy_ci_low", "accuracy_ci_high",
    "accuracy_updated", "accuracy_updated_ci_low", "accuracy_updated_ci_high", "n_items", "n_items_updated",
    "train_seconds", "train_tokens_per_s", "train_steps", "train_loss_first", "train_loss_last", "train_reused_from",
    "trainable_params", "total_params",
    "peak_memory_mb", "memory_kind", "train_peak_memory_mb", "infer_peak_memory_mb",
    "seconds_per_answer", "seconds_per_answer_p95", "infer_seconds",
    "index_seconds", "index_mb", "adapter_mb",
]
COLUMNS = ID_COLUMNS + METRIC_COLUMNS + PROVENANCE_COLUMNS

RESULTS_FILE = "results.parquet"
SAMPLES_FILE = "samples.jsonl"
MANIFEST_FILE = "manifest.json"


def with_intervals(row: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The row plus 95% bootstrap intervals of its accuracies, computed from its per-item scores.

    Derived when the run folder is written, not stored in the cell, so every cell gets them the
    same way whenever it was computed.
    """
    from harness.stats import bootstrap_ci

    out = dict(row)
    for eval_set, column in (("eval", "accuracy"), ("update", "accuracy_updated")):
        scores = [s["scores"]["accuracy"] for s in samples if s["eval_set"] == eval_set]
        if scores:
            out[f"{column}_ci_low"], out[f"{column}_ci_high"] = bootstrap_ci(scores)
    return out


def to_frame(rows: list[dict[str, Any]]) -> Any:
    """Rows -> DataFrame with the contract's columns first; extra columns (scorer sub-metrics) follow."""
    import pandas as pd

    df = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = None
    extra = sorted(c for c in df.columns if c not in COLUMNS)
    return df[COLUMNS + extra]


def read_run(run_dir: str | Path) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(results DataFrame, samples, manifest) of a run folder."""
    import pandas as pd

    run = Path(run_dir)
    df = pd.read_parquet(run / RESULTS_FILE)
    samples = [json.loads(line) for line in (run / SAMPLES_FILE).read_text().splitlines() if line.strip()]
    manifest = json.loads((run / MANIFEST_FILE).read_text())
    return df, samples, manifest
