"""Answer a cell's eval sets (and the corpus_update set, without retraining) and score them."""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

from harness.generation import generate
from harness.measure import track_peak_memory
from harness.prompts import closed_book, with_sources
from harness.scorers import SCORERS

if TYPE_CHECKING:
    from harness.runner import CellTask


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def answer_and_score(model: Any, retrieval: bool, task: "CellTask") -> dict[str, Any]:
    scenario, ctx, prof = task.scenario, task.ctx, task.profile
    scorer = SCORERS.get(scenario.spec.scorer)
    system = scenario.spec.system_prompt
    sets = [("eval", scenario.eval_for(task.profile_name), scenario.corpus)]
    if scenario.eval_update:
        sets.append(("update", scenario.eval_update_for(task.profile_name), scenario.corpus_update))

    out: dict[str, Any] = {}
    samples: list[dict[str, Any]] = []
    seconds: list[float] = []
    # built (once per scenario and corpus, shared by the retrieving strategies) outside the measured
    # block: its cost is reported as index_seconds, not charged to whichever strategy came first
    indexes = {label: ctx.index(scenario.name, label, corpus) for label, _, corpus in sets} if retrieval else {}
    with track_peak_memory(task.device.device) as mem:
        for label, items, corpus in sets:
            retrieved: list[list[Any]] = [[] for _ in items]
            if retrieval:
                index = indexes[label]
                retrieved = index.search_many([i.question for i in items], prof.top_k)
                if label == "eval":
                    out["index_seconds"], out["index_mb"] = index.build_seconds, index.size_mb
                convs = [with_sources(system, i.question, [(r.chunk.id, r.chunk.text) for r in rs])
                         for i, rs in zip(items, retrieved)]
            else:
                convs = [closed_book(system, i.question) for i in items]
            answers = generate(model, ctx.tokenizer(), convs, prof.max_new_tokens, prof.gen_batch,
                               on_batch=ctx.progress.answer_callback(len(items), label))
            seconds += answers.seconds_per_answer
            scores = [scorer(a, i) for a, i in zip(answers.texts, items)]
            suffix = "" if label == "eval" else "_updated"
            for key in scores[0]:
                out[f"{key}{suffix}"] = statistics.fmean(s[key] for s in scores)
            out[f"n_items{suffix}"] = len(items)
            for item, conv, answer, rs, sc in zip(items, convs, answers.texts, retrieved, scores):
                samples.append({
                    "eval_set": label, "item_id": item.id, "question": item.question, "reference": item.reference,
                    "answer": answer, "prompt": conv[-1]["content"],
                    "retrieved_ids": [r.chunk.id for r in rs], "retrieved_texts": [r.chunk.text for r in rs],
                    "gold_doc_ids": list(item.gold_doc_ids), "changed": item.changed, "scores": sc,
                })
    out["infer_peak_memory_mb"] = mem.peak_mb
    out["infer_memory_kind"] = mem.kind
    out["infer_seconds"] = mem.seconds
    out["seconds_per_answer"] = statistics.fmean(seconds)
    out["seconds_per_answer_p95"] = _p95(seconds)
    out["samples"] = samples
    return out
