"""House-vocabulary scorer: the facts, said in the company's own words."""

from __future__ import annotations

import math

from harness.data import EvalItem
from harness.scorers.base import scorer
from harness.scorers.facts import fact_credit
from harness.scorers.text_match import token_f1
from harness.textnorm import mentions


@scorer("vocabulary", requires=("required_facts", "required_terms"),
        metrics=("accuracy", "fact_recall", "hedge_rate", "term_accuracy", "token_f1"))
def score_vocabulary(answer: str, item: EvalItem) -> dict[str, float]:
    """Right when every fact is stated (none hedged), every house term used and no forbidden synonym appears."""
    recall, hedge = fact_credit(answer, item)
    terms_ok = all(mentions(answer, t) for t in item.required_terms) and not any(
        mentions(answer, t) for t in item.forbidden_terms
    )
    return {
        "accuracy": math.nan if math.isnan(recall) else float(recall == 1.0 and terms_ok),
        "fact_recall": recall,
        "hedge_rate": math.nan if math.isnan(recall) else float(hedge),
        "term_accuracy": float(terms_ok),
        "token_f1": token_f1(answer, item.reference),
    }
