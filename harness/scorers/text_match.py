"""Reference-matching scorers for custom scenarios: exact match, token F1 and ROUGE-L."""

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


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004): longest common token subsequence, on the same normalised tokens as token F1."""
    a, r = tokens(answer), tokens(reference)
    if not a or not r:
        return float(a == r)
    prev = [0] * (len(r) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(r):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    lcs = prev[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(r)
    return 2 * precision * recall / (precision + recall)


@scorer("rouge_l")
def score_rouge_l(answer: str, item: EvalItem) -> dict[str, float]:
    """Headline is ROUGE-L F1 against the reference (graded); token F1 beside it."""
    value = rouge_l(answer, item.reference)
    return {"accuracy": value, "rouge_l": value, "token_f1": token_f1(answer, item.reference)}
