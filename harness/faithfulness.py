"""Faithfulness: the share of an answer's claims that the evidence supports (the ragas definition).

Two methods, recorded per row in `faithfulness_method`:
- "claims-offline" (the default): split the answer into claims; a claim is supported when every
  content item it asserts (numbers with their units, codes such as KP-8886, named entities) occurs in
  the evidence, each in a passage that also holds another of the claim's items (so a lead time
  borrowed from a distractor supplier's profile does not count), and the claim is close in meaning
  to some evidence sentence or passage (MiniLM cosine >= SIMILARITY_THRESHOLD, calibrated on
  datasets/faithfulness_calibration.jsonl). Fields of a JSON answer are claims too, checked on content.
- "ragas-judge:<model>": ragas' own Faithfulness metric with an OpenAI-compatible judge (see judge.py).

The evidence is what the strategy saw: retrieved passages for retrieving strategies, the gold
documents for closed-book ones (a fine-tuned model stating a fact the knowledge base lacks is unfaithful).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.scorers.business_flow import first_json_object
from harness.textnorm import contains, normalize

OFFLINE_METHOD = "claims-offline"
# calibrated on datasets/faithfulness_calibration.jsonl (see the README and tests/test_faithfulness.py)
SIMILARITY_THRESHOLD = 0.5
VECTOR_MEMO = 50_000  # texts whose vectors the offline scorer keeps (~77 MB of MiniLM vectors)


@dataclass(frozen=True)
class Calibration:
    """The offline scorer's agreement with the hand labels: the test measures it, the report quotes it."""

    cases: int
    accuracy: float
    kappa: float

    def describe(self) -> str:
        return f"accuracy {self.accuracy:.2f}, kappa {self.kappa:.2f} on {self.cases} cases"


CALIBRATION = Calibration(cases=68, accuracy=0.88, kappa=0.77)  # at SIMILARITY_THRESHOLD

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|[;\n]+")
_CODE = re.compile(r"\b[A-Z]{1,5}(?:-[A-Z]*\d+[A-Z0-9]*)+\b")
# a number and the word after it when that word is a unit (house units first: "32 working days")
_NUMBER = re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?)(?:\s*(n·m|°[cf]|%|working days|[a-z]+))?")
_NOT_UNITS = {"to", "and", "or", "of", "in", "the", "a", "an", "from", "per", "is", "are", "was", "for", "on", "at",
              "with", "by", "as", "than", "if", "it", "its", "each", "every", "before", "after"}
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*\b")
# capitalised words that name nothing: sentence openers, pronouns, months, generic nouns of this domain
_NOT_ENTITIES = {
    "The", "A", "An", "It", "Its", "This", "That", "These", "Those", "There", "Our", "Your", "We", "You", "They",
    "I", "He", "She", "Please", "Sure", "Yes", "No", "Orders", "Order", "Inspect", "Check", "Tighten", "Replace",
    "Each", "Every", "All", "Answer", "Standard", "Minimum", "Lead", "Priority", "Policy", "Supplier", "Part",
    "Pump", "Field", "Note", "House", "Style", "Write", "Classify", "Values", "Source", "Sources", "Using",
    "According", "Based", "For", "From", "In", "On", "At", "To", "With", "By", "If", "When", "Then", "Also",
    "However", "Here", "Approved", "Customer", "Request", "Korrin", "Valve", "Works",
}


@dataclass
class ClaimVerdict:
    claim: str
    supported: bool
    items: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # items not found (or not anchored) in the evidence
    similarity: float | None = None  # best cosine to an evidence sentence; None for JSON field claims

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "supported": self.supported, "missing": self.missing,
                "similarity": None if self.similarity is None else round(self.similarity, 3)}


def split_claims(answer: str) -> list[tuple[str, bool]]:
    """(claim, is_json_field): one claim per sentence or clause; one per field of a JSON answer."""
    obj = first_json_object(answer)
    if obj is not None:
        return [(f"{k}: {v}", True) for k, v in obj.items() if v not in (None, "", [], {})]
    parts = [p.strip(" \t-*•") for p in _SENTENCE_END.split(answer.strip())]
    return [(p, False) for p in parts if len(re.findall(r"\w+", p)) >= 2]


def content_items(claim: str) -> list[str]:
    """The checkable assertions of a claim: codes, numbers (with a unit when one follows), named entities."""
    items: list[str] = []
    for code in _CODE.findall(claim):
        items.append(code)
    rest = _CODE.sub(" ", claim)
    for num, unit in _NUMBER.findall(normalize(rest)):
        items.append(num if not unit or unit in _NOT_UNITS else f"{num} {unit}")
    for m in _CAPITALISED.finditer(rest):
        words = m.group().split()
        while words and words[0] in _NOT_ENTITIES:
            words = words[1:]
        if len(words) == 1 and not rest[: m.start()].strip():
            continue  # one capitalised word opening the claim is usually just the first word
        if words:
            items.append(" ".join(words))
    seen: set[str] = set()
    return [i for i in items if not (i.lower() in seen or seen.add(i.lower()))]


def _field_value(claim: str) -> str:
    return claim.split(":", 1)[1].strip()


def _found(item: str, passage: str) -> bool:
    if contains(passage, item):
        return True
    # identifiers such as quality_lead are also written with spaces in prose
    return "_" in item and contains(passage, item.replace("_", " "))


def check_items(items: list[str], passages: Sequence[str]) -> list[str]:
    """The items the evidence does not support. With two or more items, each must sit in a passage that
    also holds another of them: a real figure or depot borrowed from a distractor's passage does not count."""
    missing = []
    for item in items:
        holders = [p for p in passages if _found(item, p)]
        others = [o for o in items if o is not item]
        if not holders or (others and not any(any(_found(o, p) for o in others) for p in holders)):
            missing.append(item)
    return missing


def evidence_sentences(passages: Sequence[str]) -> list[str]:
    out: list[str] = []
    for p in passages:
        title, _, text = p.partition(": ")
        # whole passages too: a claim that joins two sentences of one passage matches neither alone
        out += [s for s in (title, *_SENTENCE_END.split(text or title), p) if s.strip()]
    return out


class OfflineFaithfulness:
    """The claim-level scorer; `embed` maps texts to unit vectors (the run's MiniLM embedder)."""

    method = OFFLINE_METHOD

    def __init__(self, embed: Any, threshold: float = SIMILARITY_THRESHOLD) -> None:
        self.embed, self.threshold = embed, threshold
        # text -> unit vector: the same evidence sentences come back in every cell of a scenario, and one
        # encode call per answer cost more than the encoding (profiled: 10% of a non-training cell)
        self._vectors: dict[str, Any] = {}

    def _encode(self, texts: Sequence[str]) -> None:
        """Vectors for the texts not yet seen, in one call."""
        new = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if len(self._vectors) + len(new) > VECTOR_MEMO:
            self._vectors.clear()
        if new:
            self._vectors.update(zip(new, self.embed(new)))

    def _matrix(self, texts: Sequence[str]) -> Any:
        import numpy as np

        self._encode(texts)
        return np.stack([self._vectors[t] for t in texts])

    def verdicts(self, answer: str, passages: Sequence[str]) -> list[ClaimVerdict]:
        return self._verdicts(split_claims(answer), passages, evidence_sentences(passages))

    def _verdicts(self, claims: list[tuple[str, bool]], passages: Sequence[str],
                  sentences: list[str]) -> list[ClaimVerdict]:
        if not claims:
            return []
        prose = _prose(claims)
        sims: dict[str, float] = {}
        if prose and sentences:
            c, s = self._matrix(prose), self._matrix(sentences)
            best = (c @ s.T).max(axis=1)
            sims = {claim: float(v) for claim, v in zip(prose, best)}
        out = []
        for claim, is_field in claims:
            if is_field:
                value = _field_value(claim)
                missing = [] if any(_found(value, p) for p in passages) else [value]
                out.append(ClaimVerdict(claim, not missing, [value], missing))
                continue
            items = content_items(claim)
            missing = check_items(items, passages)
            sim = sims.get(claim, 0.0)
            out.append(ClaimVerdict(claim, not missing and sim >= self.threshold, items, missing, sim))
        return out

    def score(self, answer: str, passages: Sequence[str]) -> tuple[float, list[ClaimVerdict]]:
        """(share of supported claims, verdicts); NaN for an answer with no claim, as in ragas."""
        verdicts = self.verdicts(answer, passages)
        return _share(verdicts), verdicts

    def score_many(self, questions: Sequence[str], answers: Sequence[str],
                   evidence: Sequence[Sequence[str]]) -> list[tuple[float, list[dict[str, Any]]]]:
        """(faithfulness, claim verdicts as dicts) per answer; the question is not needed offline.
        Every answer's claims and evidence sentences are encoded in one call first."""
        parts = [(split_claims(answer), evidence_sentences(passages)) for answer, passages in zip(answers, evidence)]
        self._encode([t for claims, sentences in parts for t in _prose(claims) + sentences])
        out = []
        for (claims, sentences), passages in zip(parts, evidence):
            verdicts = self._verdicts(claims, passages, sentences)
            out.append((_share(verdicts), [v.as_dict() for v in verdicts]))
        return out


def _prose(claims: list[tuple[str, bool]]) -> list[str]:
    """The claims checked by similarity too (a JSON field is checked on its value alone)."""
    return [c for c, is_field in claims if not is_field]


def _share(verdicts: list[ClaimVerdict]) -> float:
    return sum(v.supported for v in verdicts) / len(verdicts) if verdicts else math.nan
