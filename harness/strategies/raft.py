"""raft: Retrieval-Augmented Fine-Tuning (Zhang et al. 2024).

The adapter is trained on prompts that carry sources: the gold documents plus distractors, and in a
share of examples distractors only, so the model learns to use context when it helps and to rely on
what it learned when the context does not. It then answers with retrieval.
"""

from __future__ import annotations

import random

from harness.cell import CellTask, Example, Strategy
from harness.prompts import cite, with_sources
from harness.retrieval import passage
from harness.strategies.base import register


def raft_examples(task: CellTask) -> list[Example]:
    """Prompts shaped like the ones it answers: top_k sources, gold first (leaving room for at least
    raft_min_distractors), the rest distractors; a raft_p_no_gold share carries distractors only. Where the
scenario's prompt asks for citations, the response ends with the ids of the gold sources shown ("[MF-P001]"),
none when it shows none.

    Prompt length, not step count, sets RAFT's cost, so it never trains on more sources than it reads."""
    scenario, prof = task.scenario, task.profile
    rng = random.Random(task.seed)
    docs = {d.id: d for d in scenario.corpus}
    ids = sorted(docs)
    n = prof.top_k
    layout = scenario.rag_prompt_for(prof.source_form)  # RAFT trains on the prompts it will answer
    examples = []
    for t in scenario.train_for(task.profile_name):
        gold = [g for g in t.source_doc_ids if g in docs][: max(n - prof.raft_min_distractors, 1)]
        pool = [i for i in ids if i not in gold]
        if rng.random() < prof.raft_p_no_gold:
            chosen = rng.sample(pool, min(n, len(pool)))
        else:
            chosen = gold + rng.sample(pool, min(max(n - len(gold), 0), len(pool)))
        rng.shuffle(chosen)
        sources = [(i, passage(docs[i])) for i in chosen]
        # where the prompt asks for the ids of the sources used, the target cites the gold ones it shows
        examples.append((with_sources(scenario.spec.system_prompt, t.instruction, sources, layout.form, layout.cite),
                         t.response + (cite([g for g in gold if g in chosen]) if layout.cite else "")))
    return examples


RAFT = register(Strategy("raft", "LoRA trained with retrieved context (gold + distractors), answering with retrieval",
                         retrieval=True, train=True, examples=raft_examples))
