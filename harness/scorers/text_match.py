"""Reference-matching scorers for custom scenarios: exact match and token F1."""

from __future__ import annotations

from collections import Counter

from harness.data import EvalItem
from harness.scorers.base import scorer
from harness.textnorm import normalize, tokens


def token_f1(answer: str, reference: str) -> float:
    """SQuAD-style bag-of-tokens F1 on normalised text."""
    a, r = tokens(answer), tokens(reference)
    if not a or not r:
        return float(a == r)
    common = sum((Counter(a) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


@scorer("exact_match")
def score_exact_match(answer: str, item: EvalItem) -> dict[str, float]:
    """Right when the normalised answer equals the normalised reference."""
    return {"accuracy": float(normalize(answer) == normalize(item.reference)),
            "token_f1": token_f1(answer, item.reference)}


@scorer("token_f1")
def score_token_f1(answer: str, item: EvalItem) -> dict[str, float]:
    """Headline is token F1 against the reference (a graded, not a 0/1, accuracy)."""
    f1 = token_f1(answer, item.reference)
    return {"accuracy": f1, "token_f1": f1}
