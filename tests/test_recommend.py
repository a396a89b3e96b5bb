"""The recommender on synthetic runs whose right answer is known."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.constraints import Constraints
from harness.recommend import recommend, render_text
from harness.results import to_frame

N = 24


def hits(k: int, offset: int = 0) -> list[float]:
    """N items, k of them right, starting at `offset` (so two strategies can share or not share items)."""
    return [1.0 if (i - offset) % N < k else 0.0 for i in range(N)]


def make_run(spec: dict[str, dict], scenario: str = "sc") -> tuple[pd.DataFrame, list[dict]]:
    rows, samples = [], []
    for strategy, s in spec.items():
        acc = s["acc"]
        upd = s.get("upd")
        row = {"scenario": scenario, "strategy": strategy, "status": "ok", "seed": 0, "model": "m",
               "accuracy": sum(acc) / N, "accuracy_updated": sum(upd) / N if upd else None,
               "faithfulness": s.get("faith", 0.5), "peak_memory_mb": s["mem_gb"] * 1024, "memory_kind": "cpu_rss",
               "train_seconds": s.get("train_s", 0.0), "seconds_per_answer": s.get("spa", 1.0),
               "hit_at_k": 1.0 if s.get("retrieval") else None, "retrieves": bool(s.get("retrieval")),
               "fine_tuned": s.get("train_s", 0.0) > 0, "four_bit": False, "train_accuracy": s.get("train_acc")}
        rows.append(row)
        for i, a in enumerate(acc):
            samples.append({"scenario": scenario, "strategy": strategy, "eval_set": "eval", "item_id": f"e{i}",
                            "scores": {"accuracy": a, "faithfulness": s.get("faith", 0.5)}, **QA})
        for i, a in enumerate(upd or []):
            samples.append({"scenario": scenario, "strategy": strategy, "eval_set": "update", "item_id": f"u{i}",
                            "scores": {"accuracy": a}, **QA})
    return to_frame(rows), samples


QA = {"seed": 0, "question": "q", "reference": "r", "answer": "a"}


def save_run(folder: Path, frame: pd.DataFrame, samples: list[dict], model: str = "m") -> Path:
    """A run folder as `harness run` writes it (format, manifest fields), from synthetic rows and samples."""
    from harness.results import RUN_FORMAT

    folder.mkdir(parents=True)
    frame.to_parquet(folder / "results.parquet")
    (folder / "samples.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    manifest = {"format": RUN_FORMAT, "command": ["test"], "started": "t0", "finished": "t1", "complete": True,
                "git_commit": "abc", "versions": {"harness": "0"}, "device": {"name": "test cpu", "device": "cpu"},
                "model": {"name": model, "identity": f"{model}@1"}, "profile": {"name": "smoke"}, "seeds": [0],
                "faithfulness": "claims-offline", "judge": None, "scenarios": {},
                "cells": [{"scenario": r["scenario"], "strategy": r["strategy"], "seed": 0, "key": f"k{n}",
                           "status": r["status"]} for n, r in frame.iterrows()]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


BASE = {
    "baseline": {"acc": hits(0), "mem_gb": 1.0},
    "rag": {"acc": hits(20), "mem_gb": 6.0, "retrieval": True, "faith": 0.9},
    "lora": {"acc": hits(12), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0},
}


def test_best_strategy_over_the_memory_budget_is_excluded_with_its_number() -> None:
    frame, samples = make_run(BASE)
    assert recommend(frame, samples, Constraints())["sc"].recommended == "rag"
    rec = recommend(frame, samples, Constraints(memory_gb=4))["sc"]
    assert rec.recommended == "lora" and rec.meets_constraints
    assert rec.excluded == {"rag": "peak memory 6.00 GB > budget 4 GB"}
    assert any(line.startswith("Excluded rag: peak memory 6.00 GB") for line in rec.rationale)
    # and the unconstrained choice says where it would flip
    free = recommend(frame, samples, Constraints())["sc"]
    assert "with less than 6.00 GB: lora" in free.flips


def test_within_noise_the_cheaper_strategy_wins() -> None:
    spec = {"lora": {"acc": hits(12), "mem_gb": 3.0, "train_s": 600, "faith": 0.5},
            "qlora": {"acc": hits(11), "mem_gb": 1.5, "train_s": 700, "faith": 0.5}}
    frame, samples = make_run(spec)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.recommended == "qlora" and rec.runner_up == "lora"
    assert rec.tied["qlora"] > 0.05
    assert any("within noise" in line and "cheaper" in line for line in rec.rationale)


def test_a_significant_difference_is_not_traded_for_cost() -> None:
    spec = {"lora": {"acc": hits(20), "mem_gb": 3.0, "train_s": 600, "faith": 0.5},
            "qlora": {"acc": hits(6), "mem_gb": 1.5, "train_s": 700, "faith": 0.5}}
    frame, samples = make_run(spec)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.recommended == "lora" and rec.beaten["qlora"] < 0.05


def test_daily_changes_count_against_a_model_whose_updated_accuracy_collapses() -> None:
    spec = {"rag": {"acc": hits(16), "upd": hits(16), "mem_gb": 2.0, "retrieval": True, "faith": 0.5},
            "lora": {"acc": hits(22), "upd": hits(2), "mem_gb": 3.0, "train_s": 600, "faith": 0.5}}
    frame, samples = make_run(spec)
    assert recommend(frame, samples, Constraints(data_changes="never"))["sc"].recommended == "lora"
    daily = recommend(frame, samples, Constraints(data_changes="daily"))["sc"]
    assert daily.recommended == "rag"
    assert any("accuracy on the updated corpus" in line for line in daily.rationale)
    never = recommend(frame, samples, Constraints(data_changes="never"))["sc"]
    assert "if the data changed daily: rag" in never.flips


def test_data_changes_without_an_update_measurement_are_not_guessed() -> None:
    frame, samples = make_run(BASE)
    rec = recommend(frame, samples, Constraints(data_changes="daily"))["sc"]
    assert rec.recommended == "rag"  # the same as with 'never': nothing measured says otherwise
    assert any("no corpus_update measurement" in line for line in rec.rationale)


def test_citations_required_excludes_closed_book_answers() -> None:
    spec = {**BASE, "lora": {"acc": hits(23), "mem_gb": 3.0, "train_s": 600}}
    frame, samples = make_run(spec)
    assert recommend(frame, samples, Constraints())["sc"].recommended == "lora"
    rec = recommend(frame, samples, Constraints(citations="required"))["sc"]
    assert rec.recommended == "rag"
    assert rec.excluded["lora"] == "answers carry no retrieved sources to cite"


def test_a_budget_nothing_meets_is_an_answer_with_the_closest() -> None:
    frame, samples = make_run(BASE)
    rec = recommend(frame, samples, Constraints(memory_gb=0.5))["sc"]
    assert not rec.meets_constraints and rec.recommended == "baseline"  # the least memory over the budget
    assert rec.summary.startswith("sc: no strategy meets memory <= 0.5 GB")
    assert "NO strategy meets" in render_text({"sc": rec})


def test_the_scenario_name_does_not_matter() -> None:
    a = recommend(*make_run(BASE, "multi_fact_qa"), Constraints(memory_gb=4))["multi_fact_qa"]
    b = recommend(*make_run(BASE, "whatever"), Constraints(memory_gb=4))["whatever"]
    assert (a.recommended, a.runner_up, a.excluded) == (b.recommended, b.runner_up, b.excluded)


def test_under_trained_cells_are_flagged() -> None:
    spec = {**BASE, "lora": {**BASE["lora"], "train_acc": 0.4}}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert any(c.startswith("lora is under-trained: 0.40") for c in rec.caveats)


def test_cli_recommend_json_and_bad_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    frame, samples = make_run(BASE)
    run = save_run(tmp_path / "run", frame, samples)
    assert main(["recommend", "--run", str(run), "--memory-gb", "4", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["sc"]["recommended"] == "lora" and out["sc"]["excluded"]["rag"].startswith("peak memory")
    assert main(["recommend", "--run", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: --run {tmp_path / 'nope'}: not a run folder (no results.parquet)"
    with pytest.raises(SystemExit) as exc:  # argparse: usage line + one error line, exit 2
        main(["recommend", "--run", str(run), "--data-changes", "hourly"])
    assert exc.value.code == 2


def _with_partial(frame: pd.DataFrame, samples: list[dict], metric: str, per_strategy: dict[str, list[float]]) -> None:
    """Give each strategy per-item partial-credit scores (and their mean in its row)."""
    for s in samples:
        if s["eval_set"] == "eval":
            s["scores"][metric] = per_strategy[s["strategy"]][int(s["item_id"][1:])]
    for strategy, values in per_strategy.items():
        frame.loc[frame["strategy"] == strategy, metric] = sum(values) / len(values)


def test_when_nobody_writes_right_answers_partial_credit_ranks_and_faithfulness_does_not() -> None:
    """Seen on a held-out set: every strategy at 0.00 and the most expensive one chosen on faithfulness alone.
    Now the rationale says the model is too small, ranks by fact_recall, and never by faithfulness."""
    spec = {"baseline": {"acc": hits(0), "mem_gb": 1.0, "faith": 0.1},
            "rag": {"acc": hits(0), "mem_gb": 2.0, "retrieval": True, "faith": 0.1},
            "raft": {"acc": hits(0), "mem_gb": 13.6, "retrieval": True, "faith": 0.9, "train_s": 576, "train_acc": 1.0}}
    frame, samples = make_run(spec)
    _with_partial(frame, samples, "fact_recall", {"baseline": [0.0] * N, "rag": [0.5] * N, "raft": [0.1] * N})
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.recommended == "rag" and rec.nobody_answers
    assert rec.rationale[0].startswith("No strategy writes right answers here (accuracy at most 0.00 for every "
                                       "strategy): the measured model is too small for this scenario")
    assert "ranked by fact_recall" in rec.rationale[0] and "faithfulness is left out" in rec.rationale[0]
    assert rec.beaten_on["raft"] == "fact_recall" and rec.beaten_on["baseline"] == "fact_recall"
    assert any(c.startswith("No strategy answers this scenario with the measured model.") for c in rec.caveats)


def test_a_secondary_metric_that_rewards_wrong_answers_does_not_pick_the_winner() -> None:
    """Seen on a business flow: lora at 0.07 chosen over raft at 0.10 because its wrong JSON actions scored
    faithfulness 0.93. Below the near-zero bar, field accuracy decides, not faithfulness."""
    spec = {"lora": {"acc": hits(1), "mem_gb": 3.0, "faith": 0.93, "train_s": 300, "train_acc": 1.0},
            "raft": {"acc": hits(1, offset=5), "mem_gb": 3.0, "retrieval": True, "faith": 0.2, "train_s": 300,
                     "train_acc": 1.0}}
    frame, samples = make_run(spec)
    _with_partial(frame, samples, "field_accuracy", {"lora": [0.2] * N, "raft": [0.8] * N})
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.recommended == "raft" and "ranked by field_accuracy" in rec.rationale[0]


def test_recognises_but_cannot_write_is_said_next_to_the_choice() -> None:
    from harness.results import with_intervals

    frame, samples = make_run({"baseline": {"acc": hits(0), "mem_gb": 1.0},
                               "rag": {"acc": hits(6), "mem_gb": 2.0, "retrieval": True},
                               "lora": {"acc": hits(8), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0}})
    mc = {"baseline": [1.0 if i < 6 else 0.0 for i in range(N)], "rag": [1.0] * 23 + [0.0],
          "lora": [1.0 if i < 10 else 0.0 for i in range(N)]}
    _with_partial(frame, samples, "mc_accuracy_norm", mc)
    rows = [with_intervals(r, [s for s in samples if s["strategy"] == r["strategy"]])
            for r in frame.to_dict("records")]
    assert [r["recognises_not_writes"] for r in rows] == [False, True, False]
    rec = recommend(to_frame(rows), samples, Constraints())["sc"]
    caveat = next(c for c in rec.caveats if c.startswith("The measured model recognises the right answer"))
    assert "rag (picks 0.96 in multiple choice, writes 0.25)" in caveat
    assert f"the choice of {rec.recommended} holds for the measured model; multiple choice ranks rag first" in caveat


def test_the_rationale_names_the_slices_where_strategies_differ() -> None:
    frame, samples = make_run(BASE)
    for strategy, (seen, unseen) in {"baseline": (0.0, 0.0), "rag": (0.8, 0.8), "lora": (1.0, 0.0)}.items():
        sel = frame["strategy"] == strategy
        frame.loc[sel, ["accuracy_seen", "accuracy_unseen", "n_items_seen", "n_items_unseen"]] = [seen, unseen, 12, 12]
    rec = recommend(frame, samples, Constraints())["sc"]
    assert "On seen items (12): baseline 0.00, rag 0.80, lora 1.00." in rec.rationale
    assert "On unseen items (12): baseline 0.00, rag 0.80, lora 0.00." in rec.rationale
