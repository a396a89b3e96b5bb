"""Key facts of a free-form reference: what in it carries the answer and is not in the question.

A help desk's pairs come with a reference sentence, not with `required_facts`. Scored by token overlap, a
wrong answer in the reference's wording ("Use git commit --fixup ...") and an answer that repeats the
question earn credit. `scenarios new` therefore writes each item's key facts into its record, where a team
can read and correct them, and scores them like `required_facts` (harness.scorers.facts):
- the checkable items of the reference (codes such as KP-200 or SL-5, command-line options, quoted code,
  identifiers, numbers with their units, acronyms and names), the same items the faithfulness scorer checks;
- none that the question states already (given, not recalled);
- where the reference has no such item ("The pump's serial number and proof of the installation date."),
  its rarest content words in the team's own documents (fewest documents holding them), at most
  FALLBACK_WORDS of them: the words that distinguish this answer from the corpus's common vocabulary.
Every fact is one the reference itself states (checked with the scorer's own `contains`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

from harness.faithfulness import content_items
from harness.textnorm import STOP_WORDS, contains, normalize

FALLBACK_WORDS = 2  # content words kept where the reference has no code, number or name
# command-line options (-n, --no-verify), `quoted code`, snake_case identifiers, "36-month" (a number bound to its unit)
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")
_QUOTED = re.compile(r"`([^`]+)`")
_IDENT = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_BOUND_NUMBER = re.compile(r"\b\d+(?:\.\d+)?-[a-z]+\b")
# numbers that are one fact whole: a telephone number (+49 30 555 0142), a time of day (07:00), a ratio (24/7)
_WHOLE_NUMBER = re.compile(r"\+?\d[\d ]{5,}\d|\b\d{1,2}:\d{2}\b|\b\d+/\d+\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z-]+")  # "pump's" is the word pump
def key_facts(question: str, reference: str, document_frequency: Counter[str] | None = None,
              n_documents: int = 0) -> list[str]:
    """The facts an answer must state to answer `question` as `reference` does (module docstring).

    document_frequency: lower-cased word -> how many corpus documents hold it (see `document_frequencies`),
    for the fallback; without it the fallback prefers the longest words."""
    found = [q.strip() for q in _QUOTED.findall(reference)]
    found += _OPTION.findall(reference) + _IDENT.findall(reference) + _BOUND_NUMBER.findall(reference)
    found += [m.strip() for m in _WHOLE_NUMBER.findall(reference)]
    rest = _QUOTED.sub(" ", reference)
    for pattern in (_OPTION, _WHOLE_NUMBER):
        rest = pattern.sub(" ", rest)
    found += content_items(rest)
    facts = [_as_written(f, reference) for f in _keep(found, question, reference)]
    if facts:
        return facts
    return _rare_words(question, reference, document_frequency or Counter(), n_documents)


def _keep(found: Iterable[str], question: str, reference: str) -> list[str]:
    """Facts the reference states and the question does not, each once; a fact inside a longer kept one
    ("36" inside "36-month") is left out."""
    out: list[str] = []
    for f in dict.fromkeys(f for f in found if f):
        if not contains(reference, f) or contains(question, f):
            continue
        if any(contains(o, f) for o in out):
            continue
        out = [o for o in out if not contains(f, o)] + [f]
    return out


def _as_written(fact: str, reference: str) -> str:
    """The fact as the reference writes it ("2,000 operating hours" for the normalised "2000 h"), so that a team
    reads its own words and the reference's text can be located; the fact itself where no span matches."""
    at = reference.lower().find(fact.lower())
    if at >= 0:
        return reference[at:at + len(fact)]
    words = reference.split()
    for size in range(1, 6):
        for start in range(len(words) - size + 1):
            span = " ".join(words[start:start + size]).strip(".,;:!?()[]\"'")
            if normalize(span) == normalize(fact):
                return span
    return fact


def _rare_words(question: str, reference: str, df: Counter[str], n_docs: int) -> list[str]:
    asked = {w.lower() for w in _WORD.findall(question)}
    words = [w for w in dict.fromkeys(_WORD.findall(reference))
             if len(w) >= 3 and w.lower() not in STOP_WORDS and w.lower() not in asked]

    def rarity(w: str) -> tuple[float, int]:
        return (math.log((n_docs + 1) / (df.get(w.lower(), 0) + 1)), len(w))

    chosen = sorted(words, key=rarity, reverse=True)[:FALLBACK_WORDS]
    return [w for w in words if w in chosen]  # in the reference's order


def document_frequencies(texts: Iterable[str]) -> tuple[Counter[str], int]:
    """(lower-cased word -> number of texts holding it, number of texts): the rarity `key_facts` ranks by."""
    df: Counter[str] = Counter()
    n = 0
    for text in texts:
        df.update({w.lower() for w in _WORD.findall(text)})
        n += 1
    return df, n
