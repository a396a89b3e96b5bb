"""Fact scorer: an answer is right when it states every required fact the question does not already state
(numbers and units normalised), and hedges on none: naming several candidates ("Pellam Components or Orvik
Seals; 10, 25 or 32 working days") earns no credit for the fact they stand in for, and repeating the
question's own part number is not recall."""

from __future__ import annotations

import math
import re

from harness.data import EvalItem
from harness.scorers.base import scorer
from harness.scorers.text_match import token_f1
from harness.textnorm import CODE, contains, quantities, quantity

# a name right after the fact across "or" / "either" / a slash ("Pellam Components or maybe Orvik Seals"), or
# right before it ("Orvik Seals or Pellam Components")
_HEDGE_WORDS = r"(?:,\s*)?(?:\bor\b|/|\beither\b)(?:\s+(?:maybe|perhaps|possibly|else|even))?\s*(?:by\s+|from\s+)?"
_AFTER = re.compile(r"^\s*" + _HEDGE_WORDS + r"[A-Z]")
_BEFORE = re.compile(r"[A-Z][\w&'-]*\s*(?:,|\bor\b|/)\s*(?:maybe\s+|perhaps\s+|possibly\s+)?$")


def _code_prefix(code: str) -> str:
    return code.split("-", 1)[0]


def hedged(answer: str, fact: str, facts: list[str], question: str = "") -> bool:
    """True when the answer names more candidate values of the fact's kind than the item asks for.

    - a quantity ("32 working days"): the answer states more numbers with that unit than the required
      facts hold (lists and ranges count: "10, 25 or 32 working days" is three);
    - a code ("KP-8886"): it states codes of that prefix that are neither required nor in the question;
    - a name ("Pellam Components"): another name stands right beside it across an "or", "either" or a
      slash ("Pellam Components or maybe Orvik Seals", "Orvik Seals / Pellam Components").
    """
    q = quantity(fact)
    if q is not None:
        asked = {v for f in facts if (fq := quantity(f)) and fq[1] == q[1] for v in [fq[0]]}
        return len(quantities(answer, q[1]) - asked) > 0
    if CODE.fullmatch(fact.strip()):
        known = {c for c in (*facts, *CODE.findall(question))}
        return any(c not in known for c in CODE.findall(answer) if _code_prefix(c) == _code_prefix(fact))
    for m in re.finditer(re.escape(fact.strip()), answer, re.IGNORECASE):
        if _AFTER.search(answer[m.end():]) or _BEFORE.search(answer[:m.start()]):
            return True
    return False


def asked_facts(item: EvalItem) -> list[str]:
    """The required facts an answer must add to the question: those the question states already ("KP-8886" in
    "Who supplies KP-8886?") are given, not recalled, and earn nothing (echoing the question scores 0)."""
    return [f for f in item.required_facts if not contains(item.question, f)]


def fact_credit(answer: str, item: EvalItem) -> tuple[float, bool]:
    """(share of the facts the question does not give that the answer states without a hedge, whether any was
    hedged); NaN for an item with no such fact (it cannot be scored on facts)."""
    facts = asked_facts(item)
    if not facts:
        return math.nan, False
    stated = [f for f in facts if contains(answer, f)]
    hedges = [f for f in stated if hedged(answer, f, list(item.required_facts), item.question)]
    return (len(stated) - len(hedges)) / len(facts), bool(hedges)


def fact_recall(answer: str, item: EvalItem) -> float:
    """Share of required facts stated, a hedged one not counting; NaN for an item that names none."""
    return fact_credit(answer, item)[0]


@scorer("facts", requires=("required_facts",), metrics=("accuracy", "fact_recall", "hedge_rate", "token_f1"))
def score_facts(answer: str, item: EvalItem) -> dict[str, float]:
    """Item accuracy: every required fact the question does not give stated, none hedged; fact_recall: the
    share; hedge_rate: 1 when the answer hedged on any; token F1 vs the reference (secondary: a wrong answer in
    the reference's wording earns it)."""
    recall, hedge = fact_credit(answer, item)
    return {"accuracy": math.nan if math.isnan(recall) else float(recall == 1.0), "fact_recall": recall,
            "hedge_rate": math.nan if math.isnan(recall) else float(hedge),
            "token_f1": token_f1(answer, item.reference)}
