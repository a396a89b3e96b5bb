"""The pure tables the app and the report draw: Pareto flags, trade-off points, run comparisons, the summary."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.compare import non_dominated
from harness.results import to_frame
from harness.views import compare_runs, qlora_vs_lora, summary_table, tradeoff_points


def row(strategy: str, acc: float, peak_mb: float, train_s: float, **extra: object) -> dict:
    retrieves = strategy in ("rag", "hybrid", "raft")
    return {"scenario": "sc", "strategy": strategy, "seed": 0, "status": "ok", "model": "m", "accuracy": acc,
            "accuracy_ci_low": max(0.0, acc - 0.1), "accuracy_ci_high": min(1.0, acc + 0.1),
            "peak_memory_mb": peak_mb, "train_seconds": train_s, "memory_kind": "cpu_rss", "retrieves": retrieves,
            "fine_tuned": train_s > 0, "four_bit": strategy == "qlora", **extra}


def test_non_dominated_on_known_points() -> None:
    # (quality, cost, cost): the second is beaten by the first on everything; equal points do not beat each other
    assert non_dominated([(0.5, 1, 1), (0.4, 2, 1), (0.9, 5, 5), (0.9, 5, 5), (0.5, 1, 0.5)]) == [
        False, False, True, True, True]
    assert non_dominated([]) == []


def test_tradeoff_points_mark_the_front_per_scenario() -> None:
    frame = to_frame([row("baseline", 0.0, 1024, 0), row("rag", 0.5, 2048, 0), row("lora", 0.4, 3072, 600),
                      row("qlora", 0.6, 2048, 900)])
    pts = tradeoff_points(frame).set_index("strategy")
    assert pts.loc["lora", "pareto"] == False  # noqa: E712 - rag is better, lighter and trains nothing
    assert pts.loc["baseline", "pareto"] and pts.loc["rag", "pareto"] and pts.loc["qlora", "pareto"]
    assert pts.loc["lora", "peak_gb"] == 3.0 and pts.loc["qlora", "train_min"] == 15.0
    assert pts.loc["rag", "ci_low"] == 0.4


def test_qlora_vs_lora_ratios() -> None:
    """Per step and to fit: QLoRA 1.2x slower a step but done in fewer steps is 0.9x the time to fit."""
    frame = to_frame([row("lora", 0.4, 3000, 600, train_peak_memory_mb=2000.0, train_seconds_per_step=5.0,
                          train_epochs=12.0),
                      row("qlora", 0.4, 3000, 540, train_peak_memory_mb=1000.0, train_seconds_per_step=6.0,
                          train_epochs=9.0)])
    r = qlora_vs_lora(frame).iloc[0]
    assert r["step_ratio"] == pytest.approx(1.2) and r["time_ratio"] == pytest.approx(0.9)
    assert r["memory_ratio"] == 0.5 and (r["lora_epochs"], r["qlora_epochs"]) == (12.0, 9.0)


def test_compare_runs_gives_both_values_and_the_difference() -> None:
    a = to_frame([row("rag", 0.5, 2048, 0), row("lora", 0.4, 3072, 600)])
    b = to_frame([row("rag", 0.75, 1024, 0)])
    both = compare_runs(a, b).set_index("strategy")
    assert both.loc["rag", "accuracy_a"] == 0.5 and both.loc["rag", "accuracy_b"] == 0.75
    assert both.loc["rag", "accuracy_delta"] == 0.25 and both.loc["rag", "peak_memory_mb_delta"] == -1024
    assert math.isnan(both.loc["lora", "accuracy_b"])  # in A only: shown, with no difference


def test_summary_reads_the_strategy_flags_for_the_under_trained_note() -> None:
    frame = to_frame([row("lora", 0.1, 3000, 600, train_accuracy=0.5),
                      row("raft", 0.1, 3000, 600, train_accuracy=0.25, hit_at_k=math.nan)])
    text = summary_table(frame)
    assert "sc: lora is under-trained: 0.50" in text
    # raft retrieves (its flag says so), even though this row has no hit@k value
    assert "sc: raft is under-trained for answering with sources: 0.25" in text
    header = text.splitlines()[0].split()
    assert header[:3] == ["scenario", "strategy", "status"] and "acc_updated" in header and "peak_mb" in header
    assert isinstance(frame, pd.DataFrame)
