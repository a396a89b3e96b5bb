"""raft: Retrieval-Augmented Fine-Tuning (Zhang et al. 2024).

The adapter is trained on prompts that carry sources: the gold documents plus distractors, and in a
share of examples distractors only, so the model learns to use context when it helps and to rely on
what it learned when the context does not. It then answers with retrieval.
"""

from __future__ import annotations

import random

from harness.cell import CellTask, Example, Strategy
from harness.prompts import with_sources
from harness.strategies.base import register


def raft_examples(task: CellTask) -> list[Example]:
    scenario, prof = task.scenario, task.profile
    rng = random.Random(task.seed)
    docs = {d.id: d for d in scenario.corpus}
    ids = sorted(docs)
    examples = []
    for t in scenario.train_for(task.profile_name):
        gold = [g for g in t.source_doc_ids if g in docs]
        distractors = rng.sample([i for i in ids if i not in gold], prof.raft_distractors)
        chosen = distractors if rng.random() < prof.raft_p_no_gold else gold + distractors
        rng.shuffle(chosen)
        sources = [(i, f"{docs[i].title}: {docs[i].text}") for i in chosen]
        examples.append((with_sources(scenario.spec.system_prompt, t.instruction, sources, prof.source_form),
                         t.response))
    return examples


RAFT = register(Strategy("raft", "LoRA trained with retrieved context (gold + distractors), answering with retrieval",
                         retrieval=True, train=True, examples=raft_examples))
