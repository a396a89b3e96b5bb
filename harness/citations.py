"""Citations, measured: does an answer cite the sources it was given, and does each cited source support
what it is cited for?

Prompts with sources ask for the ids of the sources used (harness.prompts.CITE). Per answer:
- citation_rate: 1 when it cites at least one of the ids it was shown (in brackets, or the id verbatim);
- citation_precision: the share of the sources it cites that support a claim they are cited for: the
  claims of the sentence that carries the citation, or every claim of the answer when the citations
  stand apart (a closing "[S1] [S3]"). Support is the offline faithfulness check against that one passage.
`--citations required` excludes strategies by their measured rate, not by whether they retrieve.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from harness.faithfulness import split_claims

_BRACKETS = re.compile(r"\[([^\[\]]{1,120})\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def cited_ids(answer: str, given: Sequence[str]) -> list[str]:
    """The given source ids the answer cites, in order of first citation."""
    known = set(given)
    found: list[str] = []
    for inside in _BRACKETS.findall(answer):
        for part in re.split(r"[,;]\s*|\s+and\s+", inside):
            part = part.strip().strip("'\"")
            if part in known and part not in found:
                found.append(part)
    for sid in given:  # an id written without brackets still cites it (ids are distinctive: MF-P001#0)
        if sid not in found and re.search(r"(?<![\w#-])" + re.escape(sid) + r"(?![\w#-])", answer):
            found.append(sid)
    return found


def _without_citations(text: str) -> str:
    return _BRACKETS.sub(" ", text)


def _cited_for(answer: str, sid: str) -> list[tuple[str, bool]]:
    """The claims a citation of `sid` vouches for: its own sentence's, else the whole answer's."""
    if not answer.lstrip().startswith(("{", "`")):  # a JSON answer's fields are its claims, cited together
        for sentence in _SENTENCE.split(answer):
            if sid in sentence:
                own = split_claims(_without_citations(sentence).strip())
                if own:
                    return own
    return split_claims(_without_citations(answer))


def citation_scores(answer: str, sources: Sequence[tuple[str, str]], checker: Any) -> dict[str, Any]:
    """citation_rate and citation_precision of one answer (precision NaN when it cites nothing), and the ids
    it cited. `checker` is an OfflineFaithfulness: its check(claims, [passage]) says what one passage supports."""
    given = [sid for sid, _ in sources]
    cited = cited_ids(answer, given)
    text = dict(sources)
    supported = 0
    for sid in cited:
        if any(v.supported for v in checker.check(_cited_for(answer, sid), [text[sid]])):
            supported += 1
    return {"citation_rate": float(bool(cited)),
            "citation_precision": supported / len(cited) if cited else math.nan, "cited_ids": cited}
