"""Reference-matching scorers for custom scenarios: exact match, token F1 and ROUGE-L, on SQuAD's normalisation
(lower case, no punctuation, no articles): "Pellam Components." matches "Pellam Components"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from harness.data import EvalItem
from harness.scorers.base import scorer
from harness.textnorm import squad_normalize, squad_tokens


def _overlap_f1(answer: str, reference: str, overlap: Callable[[list[str], list[str]], int]) -> float:
    """F1 of an overlap count between answer and reference tokens (both empty: 1; one empty: 0)."""
    a, r = squad_tokens(answer), squad_tokens(reference)
    if not a or not r:
        return float(a == r)
    common = overlap(a, r)
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(r)
    return 2 * precision * recall / (precision + recall)


def _bag_overlap(a: list[str], r: list[str]) -> int:
    return sum((Counter(a) & Counter(r)).values())


def _lcs(a: list[str], r: list[str]) -> int:
    prev = [0] * (len(r) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(r):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def token_f1(answer: str, reference: str) -> float:
    """SQuAD's token F1: bag-of-tokens overlap on its normalised text."""
    return _overlap_f1(answer, reference, _bag_overlap)


@scorer("exact_match", metrics=("accuracy", "token_f1"))
def score_exact_match(answer: str, item: EvalItem) -> dict[str, float]:
    """Right when the answer equals the reference after SQuAD's normalisation."""
    return {"accuracy": float(squad_normalize(answer) == squad_normalize(item.reference)),
            "token_f1": token_f1(answer, item.reference)}


@scorer("token_f1", metrics=("accuracy", "token_f1"))
def score_token_f1(answer: str, item: EvalItem) -> dict[str, float]:
    """Headline is token F1 against the reference (a graded, not a 0/1, accuracy)."""
    f1 = token_f1(answer, item.reference)
    return {"accuracy": f1, "token_f1": f1}


def rouge_l(answer: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004): longest common token subsequence, on the same tokens as token F1."""
    return _overlap_f1(answer, reference, _lcs)


@scorer("rouge_l", metrics=("accuracy", "rouge_l", "token_f1"))
def score_rouge_l(answer: str, item: EvalItem) -> dict[str, float]:
    """Headline is ROUGE-L F1 against the reference (graded); token F1 beside it."""
    value = rouge_l(answer, item.reference)
    return {"accuracy": value, "rouge_l": value, "token_f1": token_f1(answer, item.reference)}
