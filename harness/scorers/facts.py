"""Fact scorer: an answer is right when it states every required fact (numbers and units normalised)."""

from __future__ import annotations

import math

from harness.data import EvalItem
from harness.scorers.base import scorer
from harness.scorers.text_match import token_f1
from harness.textnorm import contains


def fact_recall(answer: str, item: EvalItem) -> float:
    """Share of required facts stated; NaN for an item that names none (it cannot be scored on facts)."""
    if not item.required_facts:
        return math.nan
    hits = sum(contains(answer, fact) for fact in item.required_facts)
    return hits / len(item.required_facts)


@scorer("facts", requires=("required_facts",), metrics=("accuracy", "fact_recall", "token_f1"))
def score_facts(answer: str, item: EvalItem) -> dict[str, float]:
    """Item accuracy: all required facts present; fact_recall: the share present; token F1 vs the reference."""
    recall = fact_recall(answer, item)
    return {"accuracy": math.nan if math.isnan(recall) else float(recall == 1.0), "fact_recall": recall,
            "token_f1": token_f1(answer, item.reference)}
