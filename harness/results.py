"""The results schema (column names are a contract the app and the report read) and the run-folder reader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.metrics import intervals, metric_columns
from harness.stats import bootstrap_ci

# identity and provenance of a cell
ID_COLUMNS = ["scenario", "strategy", "model", "seed", "profile", "status", "error"]
# the strategy's own facts (harness.cell.Strategy.flags), written by the run, never inferred by readers
FLAG_COLUMNS = ["retrieves", "fine_tuned", "four_bit"]
PROVENANCE_COLUMNS = ["model_identity", "device", "device_name", "dtype", "git_commit", "harness_version",
                      "versions", "cell_key", "created_at"]
# beside the metrics (harness.metrics): how many items each set had, and how a value was measured
COUNT_COLUMNS = ["n_items", "n_items_updated", "n_items_train"]
DESCRIPTOR_COLUMNS = ["faithfulness_method", "memory_kind", "train_autocast", "train_cached", "train_reused_from"]


def columns() -> list[str]:
    """The results contract, in order; NaN/None where a column does not apply (a closed-book cell has no index)."""
    return ID_COLUMNS + FLAG_COLUMNS + metric_columns() + COUNT_COLUMNS + DESCRIPTOR_COLUMNS + PROVENANCE_COLUMNS


# a fine-tuned cell below this on its own training items did not learn them: flagged, not blamed
UNDER_TRAINED_BELOW = 0.8


def under_trained_note(strategy: str, train_accuracy: float, with_sources: bool) -> str:
    """The flag the summary, the recommender, the app and the report show for a cell below the bar."""
    if with_sources:
        return (f"{strategy} is under-trained for answering with sources: {train_accuracy:.2f} on its own training "
                f"items when they come with retrieved passages (< {UNDER_TRAINED_BELOW}); its held-out score may "
                "understate the strategy.")
    return (f"{strategy} is under-trained: {train_accuracy:.2f} on its own training items (< {UNDER_TRAINED_BELOW}); "
            "its held-out score understates what fine-tuning can do with a larger training budget.")

RESULTS_FILE = "results.parquet"
SAMPLES_FILE = "samples.jsonl"
MANIFEST_FILE = "manifest.json"
COMPARISONS_FILE = "comparisons.parquet"  # paired bootstrap tests between strategies (harness.compare)


def item_scores(samples: list[dict[str, Any]], eval_set: str, key: str, scenario: str | None = None,
                strategy: str | None = None) -> dict[str, float]:
    """item id -> score, averaged over seeds where an item was answered more than once; items whose score is
    undefined (such as an answer with no claim) are left out. scenario/strategy filter when given."""
    acc: dict[str, list[float]] = {}
    for s in samples:
        if s["eval_set"] != eval_set or (scenario and s["scenario"] != scenario) or (
                strategy and s["strategy"] != strategy):
            continue
        v = s["scores"].get(key)
        if v is not None and v == v:
            acc.setdefault(s["item_id"], []).append(float(v))
    return {k: sum(v) / len(v) for k, v in acc.items()}


def with_intervals(row: dict[str, Any], samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The row plus 95% bootstrap intervals of its headline metrics, computed from its per-item scores.

    Derived when the run folder is written, not stored in the cell, so every cell gets them the
    same way whenever it was computed.
    """
    out = dict(row)
    for column, (eval_set, key) in intervals().items():
        scores = list(item_scores(samples, eval_set, key).values())
        if scores:
            out[f"{column}_ci_low"], out[f"{column}_ci_high"] = bootstrap_ci(scores)
    return out


def to_frame(rows: list[dict[str, Any]]) -> Any:
    """Rows -> DataFrame with the contract's columns first; extra columns (scorer sub-metrics) follow."""
    import pandas as pd

    df = pd.DataFrame(rows)
    contract = columns()
    for c in contract:
        if c not in df.columns:
            df[c] = None
    extra = sorted(c for c in df.columns if c not in contract)
    return df[contract + extra]


def read_run(run_dir: str | Path) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(results DataFrame, samples, manifest) of a run folder; a missing or broken one is a HarnessError."""
    import pandas as pd

    run = Path(run_dir)
    if not (run / RESULTS_FILE).is_file():
        raise HarnessError(f"--run {run_dir}: not a run folder (no {RESULTS_FILE})")
    for name in (SAMPLES_FILE, MANIFEST_FILE):
        if not (run / name).is_file():
            raise HarnessError(f"--run {run_dir}: incomplete run folder (no {name})")
    df = pd.read_parquet(run / RESULTS_FILE)
    samples = [json.loads(line) for line in (run / SAMPLES_FILE).read_text().splitlines() if line.strip()]
    manifest = json.loads((run / MANIFEST_FILE).read_text())
    return df, samples, manifest
