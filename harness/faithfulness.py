"""Faithfulness: the share of an answer's claims that the evidence supports (the ragas definition).

Two methods, recorded per row in `faithfulness_method`:
- "claims-offline" (the default): split the answer into claims; a claim is supported when every
  content item it asserts (numbers with their units, codes such as KP-8886, named entities) occurs in
  the evidence, each in a passage that also holds another of the claim's items (so a lead time
  borrowed from a distractor supplier's profile does not count), and the claim is close in meaning
  to some evidence sentence or passage (MiniLM cosine >= SIMILARITY_THRESHOLD, chosen on one half of
  datasets/faithfulness_calibration.jsonl and checked on the other half and on two other domains), and the
  evidence states most of what it says about them (at least MIN_COVERAGE of its content words, chosen on
  the same half): "KP-8886's maker is a large corporation with a massive workforce" names a real part and
  reads like a catalogue, yet no catalogue says it. Command-line options (--no-verify) are items too. Fields
  of a JSON answer are claims too: a value counts where the evidence states it for that field (a sentence
  holding the value and one of the key's words), not anywhere.
  A weak proxy still: it supports a claim that swaps a relation between words the evidence holds ("--ff-only
  creates a merge commit"); CALIBRATION says how often, per split, as false support.
- "ragas-judge:<model>": ragas' own Faithfulness metric with an OpenAI-compatible judge (see judge.py).

The evidence is the same for every strategy (harness.evaluate): the knowledge base, that is the item's gold
documents where known, else the corpus passages its claims retrieve best, so a closed-book answer and a
retrieving one are measured against the same text. Groundedness, the same measure against only what a
retrieving strategy was shown, is its own column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.scorers.business_flow import first_json_object
from harness.textnorm import CODE as _CODE
from harness.textnorm import STOP_WORDS, UNITS, contains, normalize

OFFLINE_METHOD = "claims-offline"
VECTOR_MEMO = 50_000  # texts whose vectors the offline scorer keeps (~77 MB of MiniLM vectors)


@dataclass(frozen=True)
class Agreement:
    cases: int
    accuracy: float
    kappa: float
    # share of the cases labelled unsupported that the scorer supports: the risk a buyer reads the number for
    false_support: float


@dataclass(frozen=True)
class Calibration:
    """The offline scorer against the hand labels of datasets/faithfulness_calibration.jsonl: the threshold
    chosen on `tune`, the agreement measured on the cases that played no part in choosing it
    (bench/faithfulness_calibration.py prints these; a test measures them, the report quotes them)."""

    threshold: float  # least cosine to an evidence sentence
    coverage: float  # least share of a claim's content words the evidence states
    tune: Agreement  # the threshold and the coverage were chosen here
    holdout: Agreement  # the other half of the built-in domain
    other_domain: Agreement  # an HR policy and an IT help desk, seen while the general rules were written
    fresh: Agreement  # the same two domains, other topics, written after the scorer was frozen
    # fluent inventions and wrong-but-plausible claims (built-in domain and a developer tool's docs), added with
    # the coverage rule and written to catch what the rules before it supported: in sample for that rule
    inventions: Agreement

    def describe(self) -> str:
        h, f = self.holdout, self.fresh
        i = self.inventions
        return (f"accuracy {h.accuracy:.2f}, kappa {h.kappa:.2f}, false support {h.false_support:.2f} on {h.cases} "
                f"held-out cases of the built-in domain; accuracy {f.accuracy:.2f}, kappa {f.kappa:.2f}, false support "
                f"{f.false_support:.2f} on {f.cases} cases of two other domains; false support {i.false_support:.2f} on "
                f"{i.cases} cases of inventions and wrong-but-plausible claims (settings chosen on "
                f"{self.tune.cases} other cases)")


CALIBRATION = Calibration(threshold=0.45, coverage=0.60, tune=Agreement(34, 0.94, 0.88, 0.10),
                          holdout=Agreement(34, 0.82, 0.64, 0.21), other_domain=Agreement(44, 0.89, 0.77, 0.15),
                          fresh=Agreement(42, 0.79, 0.57, 0.35), inventions=Agreement(28, 0.82, 0.65, 0.28))
SIMILARITY_THRESHOLD = CALIBRATION.threshold
MIN_COVERAGE = CALIBRATION.coverage

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|[;\n]+")
# a number and, when one follows, its unit (general units only: "version 3 supports" is the number 3)
_NUMBER = re.compile(r"(?<![\w.-])(\d+(?:\.\d+)?)(?:\s*(" + UNITS + r"))?")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+[A-Za-z]*(?:\s+[A-Z][a-z]+[A-Za-z]*)*\b")  # CamelCase too: PaperCut
_HOST = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|org|net|io|dev|local|internal|[a-z]{2})\b")
# capitalised words that name nothing, in any domain: determiners, pronouns, prepositions, conjunctions,
# sentence adverbs and the openers of an answer (no word of any scenario: a test checks the built-in ones)
_NOT_ENTITIES = {
    "The", "A", "An", "It", "Its", "This", "That", "These", "Those", "There", "Our", "Your", "We", "You", "They",
    "I", "He", "She", "His", "Her", "Their", "Them", "My", "Me", "Us", "Please", "Sure", "Yes", "No", "Not", "Each",
    "Every", "All", "Any", "Some", "Both", "Either", "Neither", "Most", "Many", "Few", "Other", "Another", "Such",
    "Answer", "Note", "Source", "Sources", "Using", "According", "Based", "Following", "For", "From", "In", "On",
    "At", "To", "With", "Without", "By", "Of", "As", "Into", "Over", "Under", "After", "Before", "During", "If",
    "When", "While", "Where", "Which", "Who", "What", "Why", "How", "Then", "Also", "However", "Therefore", "Thus",
    "Here", "Yet", "So", "And", "Or", "But", "Only", "Just", "Even", "Still", "First", "Second", "Third",
    "Finally", "Next", "Instead", "Otherwise", "Hello", "Hi", "Thanks", "Thank",
}


@dataclass
class ClaimVerdict:
    claim: str
    supported: bool
    items: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # items not found (or not anchored) in the evidence
    similarity: float | None = None  # best cosine to an evidence sentence; None for JSON field claims
    coverage: float | None = None  # share of its content words the evidence states; None for JSON field claims

    def as_dict(self) -> dict[str, Any]:
        return {"claim": self.claim, "supported": self.supported, "missing": self.missing,
                "similarity": None if self.similarity is None else round(self.similarity, 3),
                "coverage": None if self.coverage is None else round(self.coverage, 3)}


def split_claims(answer: str) -> list[tuple[str, bool]]:
    """(claim, is_json_field): one claim per sentence or clause; one per field of a JSON answer."""
    obj = first_json_object(answer)
    if obj is not None:
        return [(f"{k}: {v}", True) for k, v in obj.items() if v not in (None, "", [], {})]
    parts = [p.strip(" \t-*•") for p in _SENTENCE_END.split(answer.strip())]
    return [(p, False) for p in parts if len(re.findall(r"\w+", p)) >= 2]


_ACRONYM = re.compile(r"\b[A-Z]{2,6}s?\b(?!-)")  # not a code's prefix (KV- in "the KV- prefix")
# a command-line option (--no-verify, -n) or a hyphenated command name (git-merge-backoff): a specific value
# an answer can invent as easily as a number
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*|\b[a-z]+(?:-[a-z]+){2,}\b")
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b")


def content_items(claim: str) -> list[str]:
    """The checkable assertions of a claim: codes, numbers (with a unit when one follows), named entities and
    acronyms (SSO, HR)."""
    items: list[str] = []
    for code in _CODE.findall(claim):
        items.append(code)
    rest = _CODE.sub(" ", claim)
    items += [o.split("=")[0] for o in _OPTION.findall(rest)]  # --fixup=<commit> asserts the option --fixup
    rest = _OPTION.sub(" ", rest)
    items += _HOST.findall(rest.lower())  # addresses: id.example.com
    rest = _HOST.sub(" ", rest)
    items += [a for a in _ACRONYM.findall(rest) if a not in _NOT_ENTITIES]
    items += _ORDINAL.findall(rest)
    rest = _ORDINAL.sub(" ", rest)
    for num, unit in _NUMBER.findall(normalize(rest)):
        items.append(num + ("" if not unit else unit if unit == "%" else f" {unit}"))  # "150%" is written whole
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


def _field(claim: str) -> tuple[str, str]:
    key, _, value = claim.partition(":")
    return key.strip(), value.strip()


def _key_words(key: str) -> list[str]:
    """The words of a JSON key ("lead_time", "queueName" -> lead, time, queue, name), three letters or more."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", key)
    return [w.lower() for w in re.findall(r"[A-Za-z]+", spaced) if len(w) >= 3]


def field_supported(key: str, value: str, passages: Sequence[str]) -> bool:
    """A field's value is supported where the evidence states it for that field: in a sentence that also
    holds one of the key's words (or a word sharing its first five letters: priority, prioritise), or as
    the title of a passage ("Warranty claim: ..." states what the passage classifies)."""
    words = _key_words(key)
    if any(_found(value, p.partition(": ")[0]) for p in passages if ": " in p):
        return True
    for p in passages:
        for sentence in _SENTENCE_END.split(p):
            if not _found(value, sentence):
                continue
            lowered = sentence.lower()
            if not words or any(contains(sentence, w) or re.search(r"\b" + re.escape(w[:5]), lowered) for w in words):
                return True
    return False


def _found(item: str, passage: str) -> bool:
    if contains(passage, item):
        return True
    # identifiers such as quality_lead are also written with spaces in prose, and prose words sit inside them
    return contains(passage.replace("_", " "), item.replace("_", " "))


_CONTENT_WORD = re.compile(r"[a-z]{4,}")


def content_words(claim: str) -> list[str]:
    """The words that say what a claim asserts about its items ("large corporation with a massive workforce"):
    four letters or more, no stop word, each once."""
    return list(dict.fromkeys(w for w in _CONTENT_WORD.findall(normalize(claim)) if w not in STOP_WORDS))


def word_coverage(claim: str, passages: Sequence[str]) -> float:
    """Share of the claim's content words the evidence states, a word matching one that shares its first five
    letters (supplied ~ supplier, committing ~ commit); 1.0 for a claim with none."""
    words = content_words(claim)
    if not words:
        return 1.0
    stems = {w[:5] for p in passages for w in _CONTENT_WORD.findall(normalize(p))}
    return sum(w[:5] in stems for w in words) / len(words)


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

    def __init__(self, embed: Any, threshold: float = SIMILARITY_THRESHOLD, coverage: float = MIN_COVERAGE) -> None:
        self.embed, self.threshold, self.coverage = embed, threshold, coverage
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

    def check(self, claims: list[tuple[str, bool]], passages: Sequence[str]) -> list[ClaimVerdict]:
        """Verdicts on claims already split (claim, is_json_field), as split_claims gives them."""
        return self._verdicts(claims, passages, evidence_sentences(passages))

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
                key, value = _field(claim)
                missing = [] if field_supported(key, value, passages) else [value]
                out.append(ClaimVerdict(claim, not missing, [value], missing))
                continue
            items = content_items(claim)
            missing = check_items(items, passages)
            sim = sims.get(claim, 0.0)
            cover = word_coverage(claim, passages)
            out.append(ClaimVerdict(claim, not missing and sim >= self.threshold and cover >= self.coverage, items,
                                    missing, sim, cover))
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
