"""The run folder's schema (a typed, versioned contract the app and the report read) and its one reader.

Like Inspect's eval log, the folder says which format wrote it (`format` in manifest.json); the
reader validates every file against the schema here and answers a damaged or foreign folder with
one line naming the file and the problem, never a traceback from deep inside pandas or json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import HarnessError, format_validation_error
from harness.metrics import intervals, metric_columns
from harness.stats import mean_ci

# identity and provenance of a cell
ID_COLUMNS = ["scenario", "strategy", "model", "seed", "profile", "status", "error"]
# the strategy's own facts (harness.cell.Strategy.flags), written by the run, never inferred by readers
FLAG_COLUMNS = ["retrieves", "fine_tuned", "four_bit"]
PROVENANCE_COLUMNS = ["model_identity", "device", "device_name", "dtype", "git_commit", "harness_version",
                      "versions", "node", "cell_key", "created_at"]
# beside the metrics (harness.metrics): how many items each set had, and how a value was measured
COUNT_COLUMNS = ["n_items", "n_items_updated", "n_items_train", "n_items_seen", "n_items_composed", "n_items_unseen",
                 "n_items_changed"]
DESCRIPTOR_COLUMNS = ["faithfulness_method", "memory_kind", "train_autocast", "train_budget", "train_stop",
                      "train_epoch_losses", "train_device_name", "train_cached",
                      "train_reused_from", "train_gradient_checkpointing", "index_precision", "scorer",
                      "answer_precision", "latency_precision", "rag_prompt"]
# derived when the run folder is written (with_intervals): the model picks the right answer in multiple
# choice (acc_norm) clearly more often than it writes it and than chance (intervals apart): a capacity
# limit of the model under test
DIAGNOSTIC_COLUMNS = ["recognises_not_writes"]
MC_CHANCE = 0.25  # the reference and three wrong options: picking at random is right a quarter of the time
# columns added after run format 1 was fixed: a folder written before them still reads, with the value
# "not measured" (NaN, None), instead of being refused as damaged
ADDED_LATER = {"peak_reserved_memory_mb": math.nan, "train_reserved_memory_mb": math.nan,
               "infer_reserved_memory_mb": math.nan, "train_gradient_checkpointing": None, "node": None,
               "answer_correctness": math.nan, "answer_correctness_ci_low": math.nan,
               "answer_correctness_ci_high": math.nan, "index_precision": None, "answer_precision": None,
               "latency_precision": None, "rag_prompt": None, "supported_accuracy": math.nan,
               "supported_accuracy_ci_low": math.nan, "supported_accuracy_ci_high": math.nan,
               "keyfact_loglik": math.nan, "keyfact_loglik_ci_low": math.nan, "keyfact_loglik_ci_high": math.nan}


def columns() -> list[str]:
    """The results contract, in order; NaN/None where a column does not apply (a closed-book cell has no index)."""
    return (ID_COLUMNS + FLAG_COLUMNS + metric_columns() + COUNT_COLUMNS + DESCRIPTOR_COLUMNS + DIAGNOSTIC_COLUMNS
            + PROVENANCE_COLUMNS)


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
COMPARISONS_FILE = "comparisons.parquet"  # paired tests between strategies (harness.compare)
COMPARISON_COLUMNS = ["scenario", "metric", "a", "b", "n_items", "mean_a", "mean_b", "diff", "diff_ci_low",
                      "diff_ci_high", "p_value", "test", "p_holm", "significant"]
# bump when a reader of an older folder would misread it (1: flags in rows, typed manifest and samples;
# 2: exact and permutation tests, Clopper-Pearson and BCa intervals instead of the percentile bootstrap)
RUN_FORMAT = 2
STATUSES = ("ok", "failed", "skipped")


class _Open(BaseModel):
    """Known fields are checked; fields a later version adds are kept."""

    model_config = ConfigDict(extra="allow")


class Sample(_Open):
    """One answered question of one cell (a line of samples.jsonl)."""

    scenario: str
    strategy: str
    seed: int
    eval_set: Literal["eval", "update", "train"]
    item_id: str
    question: str
    reference: str
    answer: str
    scores: dict[str, float | None]
    prompt: str = ""
    retrieved_ids: list[str] = []
    retrieved_doc_ids: list[str] = []
    retrieved_texts: list[str] = []
    gold_doc_ids: list[str] = []
    claims: list[dict[str, Any]] = []
    cited_ids: list[str] = []
    slice: str | None = None  # seen | composed | unseen | changed (harness.slices); None for training items


class ManifestCell(_Open):
    scenario: str
    strategy: str
    seed: int
    key: str
    status: Literal["ok", "failed", "skipped", "pending"]


class Manifest(_Open):
    """manifest.json: what ran, on what, with which code and settings."""

    format: int
    command: list[str]
    started: str
    finished: str | None
    complete: bool
    git_commit: str
    versions: dict[str, str]
    device: dict[str, Any]
    model: dict[str, Any]
    profile: dict[str, Any]
    seeds: list[int] = Field(min_length=1)
    faithfulness: str
    judge: dict[str, Any] | None = None
    scenarios: dict[str, Any]
    cells: list[ManifestCell]


def _damaged(run: Path, name: str, why: str) -> HarnessError:
    return HarnessError(f"--run {run}: {name}: {why}")


def read_manifest(run: Path) -> dict[str, Any]:
    """The validated manifest of a run folder, as written (later versions' extra fields kept)."""
    path = run / MANIFEST_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _damaged(run, MANIFEST_FILE, "missing (incomplete run folder)") from None
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise _damaged(run, MANIFEST_FILE, f"not valid JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise _damaged(run, MANIFEST_FILE, f"expected a JSON object, got {type(raw).__name__}")
    fmt = raw.get("format")
    if fmt != RUN_FORMAT:
        written = f"format {fmt}" if fmt is not None else "no format version (written before harness tracked one)"
        raise _damaged(run, MANIFEST_FILE, f"{written}; this harness reads format {RUN_FORMAT}. Re-run the same "
                                           "`harness run` command to rewrite the folder (finished cells come from "
                                           "the cache)")
    try:
        Manifest.model_validate(raw)
    except ValidationError as exc:
        raise _damaged(run, MANIFEST_FILE, format_validation_error(exc)) from None
    return raw


def read_samples(run: Path) -> list[dict[str, Any]]:
    path = run / SAMPLES_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _damaged(run, SAMPLES_FILE, "missing (incomplete run folder)") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise _damaged(run, SAMPLES_FILE, f"unreadable ({type(exc).__name__})") from None
    out = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            Sample.model_validate(raw)
        except json.JSONDecodeError as exc:
            raise _damaged(run, f"{SAMPLES_FILE}:{lineno}", f"invalid JSON ({exc.msg})") from None
        except ValidationError as exc:
            raise _damaged(run, f"{SAMPLES_FILE}:{lineno}", format_validation_error(exc)) from None
        out.append(raw)
    return out


def _read_parquet(run: Path, name: str) -> Any:
    import pandas as pd

    try:
        return pd.read_parquet(run / name)
    except FileNotFoundError:
        raise _damaged(run, name, "missing (incomplete run folder)") from None
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many types for a damaged file; each is one line here
        raise _damaged(run, name, f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from None


def read_results(run: Path) -> Any:
    frame = _read_parquet(run, RESULTS_FILE)
    for c, not_measured in ADDED_LATER.items():
        if c not in frame.columns:
            frame[c] = not_measured
    missing = [c for c in columns() if c not in frame.columns]
    if missing:
        raise _damaged(run, RESULTS_FILE, f"missing columns {', '.join(missing[:5])}"
                                          + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    bad = sorted(set(frame["status"].astype(str)) - set(STATUSES))
    if bad:
        raise _damaged(run, RESULTS_FILE, f"unknown status {bad[0]!r} (expected {', '.join(STATUSES)})")
    import pandas as pd

    for m in metric_columns():
        if len(frame) and not pd.api.types.is_numeric_dtype(frame[m]) and frame[m].notna().any():
            try:
                frame[m] = frame[m].astype(float)
            except (TypeError, ValueError):
                raise _damaged(run, RESULTS_FILE, f"column {m} is not numeric") from None
    return frame


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
    """The row plus what is derived from its per-item scores: 95% intervals of its headline metrics
    (harness.stats.mean_ci), and the recognises-but-cannot-write diagnostic (multiple choice's interval above
    accuracy's).

    Derived when the run folder is written, not stored in the cell, so every cell gets them the
    same way whenever it was computed.
    """
    out = dict(row)
    for column, (eval_set, key) in intervals().items():
        scores = list(item_scores(samples, eval_set, key).values())
        if scores:
            out[f"{column}_ci_low"], out[f"{column}_ci_high"] = mean_ci(scores)
    recognised, written = out.get("mc_accuracy_norm_ci_low"), out.get("accuracy_ci_high")
    out["recognises_not_writes"] = bool(recognised is not None and written is not None
                                        and recognised > max(written, MC_CHANCE))
    return out


def to_frame(rows: list[dict[str, Any]]) -> Any:
    """Rows -> DataFrame with the contract's columns first; extra columns (scorer sub-metrics) follow."""
    import pandas as pd

    df = pd.DataFrame(rows)
    contract = columns()
    # the missing ones added in one piece: one insert each fragments the frame (pandas warns, on every run)
    missing = [c for c in contract if c not in df.columns]
    if missing:
        df = pd.concat([df, pd.DataFrame({c: [None] * len(df) for c in missing}, index=df.index, dtype=object)],
                       axis=1)
    extra = sorted(c for c in df.columns if c not in contract)
    return df[contract + extra]


def read_run(run_dir: str | Path) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
    """(results DataFrame, samples, manifest) of a run folder, each validated; any problem is one HarnessError line."""
    run = Path(run_dir)
    if not (run / RESULTS_FILE).exists():
        raise HarnessError(f"--run {run_dir}: not a run folder (no {RESULTS_FILE})")
    manifest = read_manifest(run)
    frame, samples = read_results(run), read_samples(run)
    _check_comparisons(run)
    return frame, samples, manifest


def _check_comparisons(run: Path) -> None:
    """comparisons.parquet is derived (recommend and the report recompute their tests from the samples), but a
    damaged one is a damaged run folder: said in one line, not handed to whoever opens the file next."""
    if not (run / COMPARISONS_FILE).exists():
        return
    frame = _read_parquet(run, COMPARISONS_FILE)
    missing = [c for c in COMPARISON_COLUMNS if c not in frame.columns]
    if missing:
        raise _damaged(run, COMPARISONS_FILE, f"missing columns {', '.join(missing)}")
