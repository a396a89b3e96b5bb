"""The recommender on synthetic runs whose right answer is known."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from harness.constraints import Constraints
from harness.evaluate import supported_accuracy
from harness.recommend import recommend, render_text
from harness.results import to_frame

N = 24


def hits(k: int, offset: int = 0, n: int = N) -> list[float]:
    """n items, k of them right, starting at `offset` (so two strategies can share or not share items)."""
    return [1.0 if (i - offset) % n < k else 0.0 for i in range(n)]


def make_run(spec: dict[str, dict], scenario: str = "sc") -> tuple[pd.DataFrame, list[dict]]:
    rows, samples = [], []
    for strategy, s in spec.items():
        acc = s["acc"]
        upd = s.get("upd")
        faith = s.get("faith", 0.5)
        supported = [supported_accuracy(a, faith) for a in acc]
        row = {"scenario": scenario, "strategy": strategy, "status": "ok", "seed": 0, "model": "m",
               "accuracy": sum(acc) / len(acc), "accuracy_updated": sum(upd) / len(upd) if upd else None,
               "faithfulness": faith, "supported_accuracy": sum(supported) / len(supported), "peak_memory_mb": s["mem_gb"] * 1024, "memory_kind": "cpu_rss",
               "train_seconds": s.get("train_s", 0.0), "seconds_per_answer": s.get("spa", 1.0),
               "latency_p95_s": s.get("wait", 2.0),
               "hit_at_k": 1.0 if s.get("retrieval") else None, "retrieves": bool(s.get("retrieval")),
               "citation_rate": s.get("cite", 1.0) if s.get("retrieval") else None,
               "fine_tuned": s.get("train_s", 0.0) > 0, "four_bit": False, "train_accuracy": s.get("train_acc")}
        rows.append(row)
        for i, (a, sa) in enumerate(zip(acc, supported)):
            samples.append({"scenario": scenario, "strategy": strategy, "eval_set": "eval", "item_id": f"e{i}",
                            "scores": {"accuracy": a, "faithfulness": faith, "supported_accuracy": sa}, **QA})
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
    free = recommend(frame, samples, Constraints())["sc"]
    assert (free.recommended, free.verdict) == ("rag", "best")
    assert free.headline.startswith("rag is best: ahead of every other allowed strategy on accuracy + 0.25 x "
                                    "supported accuracy, each paired test significant after Holm's correction over 2")
    rec = recommend(frame, samples, Constraints(memory_gb=4))["sc"]
    assert rec.recommended == "lora" and rec.meets_constraints and rec.verdict == "best"
    assert rec.excluded == {"rag": "peak memory 6.00 GB > budget 4 GB"}
    assert any(line.startswith("Excluded rag: peak memory 6.00 GB") for line in rec.rationale)
    # and the unconstrained choice says where it would flip
    assert "with less than 6.00 GB: lora" in free.flips


def test_one_answer_apart_is_inconclusive_not_a_tie_won_by_the_cheaper() -> None:
    spec = {"lora": {"acc": hits(12), "mem_gb": 3.0, "train_s": 600, "faith": 0.5},
            "qlora": {"acc": hits(11), "mem_gb": 1.5, "train_s": 700, "faith": 0.5}}
    frame, samples = make_run(spec)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert (rec.verdict, rec.recommended, rec.leader, rec.alternative) == ("inconclusive", "lora", "lora", "qlora")
    c = rec.comparisons[0]
    assert c["other"] == "qlora" and c["direction"] == "behind" and not c["separated"] and not c["non_inferior"]
    # one right answer apart, and its supported share (0.5) at a quarter: -(1 + 0.25 x 0.5) / 24
    assert c["p"] == pytest.approx(1.0) and c["diff"] == pytest.approx(-1.125 / 24)
    assert rec.headline.startswith("The data cannot yet tell lora from qlora: lora leads by +0.05 [")
    # one answer of 24 is inside the margin: the question the data can answer is "as good", and the items it
    # would take at this difference are beyond any eval set, which the text says in words, not as a count
    assert c["needed_for"] == "non_inferior" and c["items_needed"] > 10_000
    assert ("to show qlora as good within the margin of 0.05 would take more than 10,000 items, beyond any "
            "realistic eval set") in rec.headline
    assert rec.rationale[0].startswith("Verdict (provisional: the data cannot tell yet):")


def test_a_cheaper_strategy_shown_non_inferior_within_the_margin_is_as_good() -> None:
    """200 items, qlora one answer behind: its lower bound (about -0.03) is above -0.05."""
    n = 200
    spec = {"lora": {"acc": hits(150, n=n), "mem_gb": 3.0, "train_s": 600},
            "qlora": {"acc": hits(149, n=n), "mem_gb": 1.5, "train_s": 700}}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert (rec.verdict, rec.recommended, rec.alternative) == ("as_good", "qlora", "qlora")
    c = rec.comparisons[0]
    assert c["non_inferior"] and -0.05 < c["ni_low"] < -0.01 and c["diff"] == pytest.approx(-1.125 / 200)
    assert rec.headline.startswith("qlora is as good as lora within the margin of 0.05 and cheaper")
    # one answer behind of 24 cannot show it: the lower bound is about -0.2
    small = {"lora": {**spec["lora"], "acc": hits(18)}, "qlora": {**spec["qlora"], "acc": hits(17)}}
    rec = recommend(*make_run(small), Constraints())["sc"]
    assert rec.verdict == "inconclusive" and rec.recommended == "lora"
    # a wider margin, stated by the buyer, can
    assert recommend(*make_run(small), Constraints(margin=0.25))["sc"].recommended == "qlora"


def test_few_more_right_answers_of_24_are_not_recommended_as_good_nor_as_better() -> None:
    """The issue's cases: baseline 1/24 against lora 4/24 (p = 0.25), and 0/24 against 3/24."""
    for base, lora in ((1, 4), (0, 3)):
        spec = {"baseline": {"acc": hits(base), "mem_gb": 1.0},
                "lora": {"acc": hits(lora), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0}}
        rec = recommend(*make_run(spec), Constraints())["sc"]
        assert rec.verdict == "inconclusive" and rec.recommended == "lora" and rec.alternative == "baseline"
        c = rec.comparisons[0]
        assert c["p"] == pytest.approx(0.25) and not c["non_inferior"]
        assert "The data cannot yet tell lora from baseline" in rec.headline
        assert "to tell them apart, about" in rec.headline and c["needed_for"] == "superior"
        assert not any("within noise" in line for line in rec.rationale)


def test_a_significant_difference_is_not_traded_for_cost() -> None:
    spec = {"lora": {"acc": hits(20), "mem_gb": 3.0, "train_s": 600, "faith": 0.5},
            "qlora": {"acc": hits(6), "mem_gb": 1.5, "train_s": 700, "faith": 0.5}}
    frame, samples = make_run(spec)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.recommended == "lora" and rec.verdict == "best"
    assert rec.comparisons[0]["p_holm"] < 0.05 and rec.comparisons[0]["direction"] == "behind"


def test_holm_correction_over_the_leaders_comparisons() -> None:
    """Each of four rivals 6 discordant answers behind: p = 0.031 alone, 0.125 after Holm over four."""
    spec = {"lead": {"acc": hits(18), "mem_gb": 3.0}}
    for j, name in enumerate(("a", "b", "c", "d")):
        spec[name] = {"acc": hits(12), "mem_gb": 1.0 + j}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert all(c["p"] == pytest.approx(0.03125) for c in rec.comparisons)
    assert all(c["p_holm"] == pytest.approx(0.125) for c in rec.comparisons)
    assert rec.verdict == "inconclusive" and rec.alternative == "a"  # the cheapest not told apart


def test_ahead_on_a_part_of_the_score_is_never_reported_as_behind() -> None:
    """rag is behind lora on accuracy but clearly ahead on supported accuracy (its right answers are supported,
    lora's are not): its line says ahead."""
    spec = {"lora": {"acc": hits(24), "mem_gb": 3.0, "train_s": 600, "faith": 0.1},
            "rag": {"acc": hits(16), "mem_gb": 2.0, "retrieval": True, "faith": 0.9}}
    frame, samples = make_run(spec)
    for s in samples:  # a supported share that varies per item, so the test has something to flip
        s["scores"]["supported_accuracy"] += 0.01 * (int(s["item_id"][1:]) % 3) * s["scores"]["accuracy"]
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.leader == "lora"
    faith = next(d for d in rec.secondary if d["quantity"] == "supported accuracy")
    assert faith["direction"] == "ahead" and faith["separated"]
    line = next(x for x in rec.rationale if x.startswith("Part of the score: rag") and "supported accuracy" in x)
    assert line.startswith("Part of the score: rag is ahead of lora on supported accuracy by 0.5") and "behind" not in line
    accuracy = next(x for x in rec.rationale if x.startswith("Part of the score: rag") and "on accuracy" in x)
    assert accuracy.startswith("Part of the score: rag is behind lora on accuracy by 0.33")


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


def test_citations_required_reads_the_measured_citation_rate() -> None:
    """Retrieving is not citing: a rag whose answers cite a shown source in 0.40 of them is excluded."""
    spec = {**BASE, "rag": {**BASE["rag"], "cite": 0.4}, "raft": {**BASE["rag"], "cite": 0.9, "mem_gb": 8.0}}
    rec = recommend(*make_run(spec), Constraints(citations="required"))["sc"]
    assert rec.excluded["rag"] == "cites a source it was shown in 0.40 of its answers (< 0.8 required)"
    assert rec.recommended == "raft"
    loose = recommend(*make_run(spec), Constraints(citations="required", min_citation_rate=0.3))["sc"]
    assert "rag" not in loose.excluded


def test_a_budget_nothing_meets_is_an_answer_with_the_closest() -> None:
    frame, samples = make_run(BASE)
    rec = recommend(frame, samples, Constraints(memory_gb=0.5))["sc"]
    assert not rec.meets_constraints and rec.recommended == "baseline"  # the least memory over the budget
    assert rec.summary.startswith("sc: no strategy meets memory <= 0.5 GB")
    assert rec.verdict == "only" and rec.headline.startswith("No strategy meets these constraints; baseline, the closest")
    assert "NO strategy meets" in render_text({"sc": rec})


def test_a_lone_strategy_is_the_only_candidate_never_best() -> None:
    """One strategy (a scenario where only baseline ran, or one left by the budgets) has nothing to be shown
    better than: the verdict says so, in the headline and the verdict's words."""
    frame, samples = make_run({"baseline": {"acc": hits(10), "mem_gb": 1.0}})
    rec = recommend(frame, samples, Constraints())["sc"]
    assert (rec.verdict, rec.recommended, rec.alternative, rec.comparisons) == ("only", "baseline", None, [])
    assert rec.headline == "baseline is the only strategy within these constraints: there is nothing to compare it with."
    assert rec.rationale[0].startswith("Verdict (the only candidate: nothing to compare):")
    left = recommend(*make_run(BASE), Constraints(memory_gb=2))["sc"]
    assert (left.recommended, left.verdict) == ("baseline", "only")


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
    assert out["sc"]["verdict"] == "best" and out["sc"]["margin"] == 0.05
    assert main(["recommend", "--run", str(run)]) == 0
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    assert lines[0].startswith("sc: rag (best, shown). rag is best") and len(lines) <= 5  # four, and the hint
    assert lines[1] == "  decided on: accuracy + 0.25 x supported accuracy"
    assert lines[2] == "  shown: lora and baseline shown behind rag" and lines[-1].startswith("(harness recommend --details")
    assert main(["recommend", "--run", str(run), "--details"]) == 0
    assert "  - Verdict (best, shown): rag is best" in capsys.readouterr().out
    assert main(["recommend", "--run", str(run), "--margin", "0.2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sc"]["margin"] == 0.2
    for bad, why in (("--margin=1.5", "--margin 1.5: must be below 1"),
                     ("--weights=cost=0.05", "--weights cost=0.05: cost is no longer a weight")):
        assert main(["recommend", "--run", str(run), bad]) == 2
        assert capsys.readouterr().err.startswith(f"error: {why}")
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
    assert rec.recommended == "rag" and rec.nobody_answers and rec.verdict == "best"
    assert rec.quantity == "fact_recall"
    assert rec.rationale[0].startswith("No strategy writes significantly more right answers than none here (accuracy "
                                       "at most 0.00")
    assert "the measured model is too small for this scenario" in rec.rationale[0]
    assert "ranked by fact_recall" in rec.rationale[0] and "faithfulness is left out" in rec.rationale[0]
    assert {c["other"]: c["quantity"] for c in rec.comparisons} == {"raft": "fact_recall", "baseline": "fact_recall"}
    assert any(c.startswith("No strategy answers this scenario with the measured model.") for c in rec.caveats)


def test_with_nothing_to_rank_on_the_ranking_is_cost_alone_as_the_text_says() -> None:
    """No right answer and no partial credit: a 13 GB raft must not beat a 1 GB baseline on faithfulness."""
    spec = {"baseline": {"acc": hits(0), "mem_gb": 1.0, "faith": 0.1},
            "raft": {"acc": hits(0), "mem_gb": 13.6, "retrieval": True, "faith": 0.9, "train_s": 576, "train_acc": 1.0}}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert rec.recommended == "baseline" and rec.verdict == "inconclusive"
    assert "the ranking below rests on cost alone" in rec.rationale[0]
    assert rec.quantity.startswith("cost alone")
    scores = {c["strategy"]: c["score"] for c in rec.candidates}
    costs = {c["strategy"]: c["cost"] for c in rec.candidates}
    assert scores == {s: -costs[s] for s in costs}  # exactly what the text says: cost, nothing else
    assert "named on cost alone" in rec.headline


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


def test_the_latency_budget_reads_a_requests_wait_not_a_batch_share() -> None:
    """seconds_per_answer is a batch's time over its items (0.2 s here); a user waits latency_p95_s (3 s)."""
    spec = {"rag": {**BASE["rag"], "spa": 0.2, "wait": 3.0}, "lora": {**BASE["lora"], "spa": 0.2, "wait": 1.0}}
    rec = recommend(*make_run(spec), Constraints(latency_s=2))["sc"]
    assert rec.excluded == {"rag": "a request waits 3.00 s (p95, one at a time) > budget 2 s"}
    assert rec.recommended == "lora"


def test_with_a_judge_a_custom_scenario_is_decided_on_judged_correctness() -> None:
    """A reference-matching scorer's accuracy is word overlap; where a judge scored answer correctness, that
    is the headline: here lora overlaps the reference more, rag is judged right more often."""
    spec = {"rag": {"acc": hits(6), "mem_gb": 2.0, "retrieval": True}, "lora": {"acc": hits(18), "mem_gb": 3.0,
                                                                                 "train_s": 600}}
    frame, samples = make_run(spec)
    frame["scorer"] = "token_f1"
    judged = {"rag": hits(20), "lora": hits(4)}
    _with_partial(frame, samples, "answer_correctness", judged)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.quantity.startswith("answer correctness (judged)") and rec.recommended == "rag"
    frame["answer_correctness"] = float("nan")  # no judge: accuracy decides
    assert recommend(frame, samples, Constraints())["sc"].recommended == "lora"


@pytest.mark.parametrize("kind", ["a copied passage", "an invalid action", "a bare citation", "a fluent invention"])
def test_an_answer_that_does_not_answer_never_leads_one_that_writes_right_answers(kind: str) -> None:
    """Seen on the committed run: rag named on business_flow for copied policy passages (accuracy 0.00,
    faithfulness 0.72) over fine-tuned strategies writing actions. Each kind of non-answer is perfectly
    'faithful' here (1.0) and right nowhere; the other strategy writes 3 right answers of 24 and supports
    few of its claims (0.2). Faithfulness only counts on right answers, so the non-answer earns nothing."""
    spec = {"answers": {"acc": hits(3), "mem_gb": 3.0, "faith": 0.2, "train_s": 600, "train_acc": 1.0},
            "does_not": {"acc": hits(0), "mem_gb": 1.0, "faith": 1.0, "retrieval": kind != "a fluent invention"}}
    frame, samples = make_run(spec)
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.leader == "answers"
    scores = {c["strategy"]: c["score"] for c in rec.candidates}
    assert scores["does_not"] == 0.0 and scores["answers"] == pytest.approx(3 / 24 * (1 + 0.25 * 0.2))
    # and no budget offers it as the alternative: it answers nothing
    assert "with less than 3.00 GB: no strategy that answers fits" in rec.flips
    assert not any("does_not" in f for f in rec.flips)


@pytest.mark.parametrize(("right", "floor"), [(2, True), (5, True), (6, False)])
def test_the_floor_is_a_test_not_a_fixed_bar(right: int, floor: bool) -> None:
    """business_flow's fine-tuned cells wrote 1-2 right actions of 24 (0.04-0.08) and the verdict ran on accuracy
    above a fixed 0.05. Now accuracy decides only where some strategy writes significantly more right answers
    than none: exact McNemar against a column of zeros, 2 x 0.5^k, so 6 at alpha 0.05 (at any number of items)."""
    spec = {"lora": {"acc": hits(right), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0},
            "rag": {"acc": hits(0), "mem_gb": 1.0, "retrieval": True}}
    frame, samples = make_run(spec)
    _with_partial(frame, samples, "field_accuracy", {"lora": [0.4] * N, "rag": [0.0] * N})
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.nobody_answers is floor and rec.floor_strategy == "lora"
    assert rec.floor_p == pytest.approx(2 * 0.5 ** right)
    assert rec.quantity == ("field_accuracy" if floor else "accuracy + 0.25 x supported accuracy")
    if floor:
        assert f"the most, lora, against none: p = {2 * 0.5 ** right:.3f}" in rec.rationale[0]


def test_what_is_shown_is_said_in_groups() -> None:
    """Seen on a held-out flow: lora and hybrid not told apart, rag and baseline shown behind both, and the
    verdict read only "provisional". The grouped sentence says both facts; a strategy shown behind the leader
    but not behind the runner-up is said to be behind the leader alone."""
    spec = {"lora": {"acc": hits(24), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0},
            "hybrid": {"acc": hits(19), "mem_gb": 3.5, "retrieval": True, "train_s": 600, "train_acc": 1.0},
            "rag": {"acc": hits(3), "mem_gb": 2.0, "retrieval": True},
            "baseline": {"acc": hits(2), "mem_gb": 1.0}}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert rec.verdict == "inconclusive" and rec.top_group == ["lora", "hybrid"]
    assert rec.shown_behind == {"rag": ["lora", "hybrid"], "baseline": ["lora", "hybrid"]}
    assert rec.shown == "rag and baseline shown behind lora and hybrid; lora and hybrid not told apart"
    # a strategy the runner-up is not shown ahead of is behind the leader alone
    spec["mid"] = {"acc": hits(14), "mem_gb": 2.5}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    assert rec.shown_behind["mid"] == ["lora"] and "mid shown behind lora;" in rec.shown


def test_inside_the_margin_the_items_needed_are_for_as_good() -> None:
    """200 items, qlora 5 answers behind (diff -0.025 inside the margin 0.05), lower bound not yet above -0.05:
    the items named are those that would show it as good, a realistic count."""
    n = 200
    spec = {"lora": {"acc": hits(120, n=n), "mem_gb": 3.0, "train_s": 600, "faith": 1.0},
            "qlora": {"acc": hits(115, n=n), "mem_gb": 1.5, "train_s": 700, "faith": 1.0}}
    rec = recommend(*make_run(spec), Constraints())["sc"]
    c = rec.comparisons[0]
    assert rec.verdict == "inconclusive" and c["needed_for"] == "non_inferior"
    assert 200 < c["items_needed"] < 10_000
    assert f"to show qlora as good within the margin of 0.05, about {c['items_needed'] - n} more items" in rec.headline


def test_below_the_floor_recognition_decides_and_says_so() -> None:
    """Seen on a team's help desk: no strategy writes right answers, the fine-tuned one learned the references'
    wording, and the verdict named it with no word that the model cannot write these answers. Below the floor,
    recognition (the key facts' log-likelihood under each strategy's own prompt) decides where every strategy
    has it, with no margin to trade in nats, and the capacity caveat fires without any multiple choice."""
    spec = {"lora": {"acc": hits(1), "mem_gb": 3.0, "train_s": 600, "train_acc": 1.0},
            "rag": {"acc": hits(0), "mem_gb": 2.0, "retrieval": True},
            "baseline": {"acc": hits(0), "mem_gb": 1.0}}
    frame, samples = make_run(spec)
    loglik = {"rag": [-1.0 - 0.01 * i for i in range(N)], "baseline": [-1.9 - 0.01 * i for i in range(N)],
              "lora": [-2.4 - 0.01 * i for i in range(N)]}
    _with_partial(frame, samples, "keyfact_loglik", loglik)
    _with_partial(frame, samples, "fact_recall", {"lora": [0.5] * N, "rag": [0.0] * N, "baseline": [0.1] * N})
    rec = recommend(frame, samples, Constraints())["sc"]
    assert rec.nobody_answers and rec.quantity == "recognition" and rec.margin == 0.0
    assert (rec.recommended, rec.verdict) == ("rag", "best")
    assert rec.shown == "baseline and lora shown behind rag"
    assert "They are ranked on recognition instead" in rec.rationale[0]
    text = render_text({"sc": rec}).splitlines()
    assert text[1].startswith("  decided on: recognition, how likely") and "does not write these answers" in text[1]
    assert text[3].startswith("  caveat: Decided on recognition: the measured model does not write these answers")


def test_no_interval_on_the_committed_run_contradicts_its_test() -> None:
    """Every comparison `harness recommend --run docs/run` prints, on every part of the score: an interval of the
    difference excludes zero exactly when its p is below 0.05."""
    from harness.results import read_run

    root = Path(__file__).resolve().parent.parent
    frame, samples, _ = read_run(root / "docs" / "run")
    for rec in recommend(frame, samples, Constraints()).values():
        for c in rec.comparisons + rec.secondary:
            assert (c["ci_low"] > 0 or c["ci_high"] < 0) == (c["p"] < 0.05), (rec.scenario, c)
