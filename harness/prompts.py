"""Chat messages for every strategy, built in one place so strategies differ only where they should."""

from __future__ import annotations

from collections.abc import Sequence

Message = dict[str, str]


def closed_book(system: str, question: str) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


# How a prompt with sources is laid out. A 135M model follows what comes last: after "answer: Q" it
# narrates the sources ("The source of the problem is ...") instead of writing the asked JSON; with the
# system instruction restated after the question it follows the instruction more often.
# Chosen on the train split (bench/decoding.py), recorded in the profile and the manifest.
SOURCE_FORMS = ("sources_first", "question_first", "instruction_last")
# every prompt with sources asks for the ids it used (harness.citations measures whether answers do)
CITE = "After your answer, give the ids of the sources you used in square brackets, like [{example}]."


def cite(ids: Sequence[str]) -> str:
    """The citation a response ends with when it uses these sources: " [A] [B]" (RAFT's training targets)."""
    return "".join(f" [{sid}]" for sid in ids)


def with_sources(system: str, question: str, sources: Sequence[tuple[str, str]],
                 form: str = "sources_first", cite: bool = True) -> list[Message]:
    """The retrieved passages, each tagged with its id so an answer can cite it, laid out as `form` says, and
    (cite) the request to cite them. The request is a setting of the scenario, chosen on its train split: a
    135M model asked to cite often writes the citation instead of the answer ("The source I used is [MF-S07].")."""
    listed = "\n".join(f"[{sid}] {text}" for sid, text in sources)
    ask = CITE.format(example=sources[0][0] if sources else "id") if cite else ""
    if form == "sources_first":
        user = f"Sources:\n{listed}\n\nUsing the sources above, answer: {question}\n{ask}"
    elif form == "question_first":
        user = f"Question: {question}\n\nSources:\n{listed}\n\nAnswer the question above using these sources. {ask}"
    elif form == "instruction_last":
        user = f"Sources:\n{listed}\n\nQuestion: {question}\n\nUsing the sources, do this: {system}\n{ask}"
    else:
        raise ValueError(f"unknown source prompt form '{form}' (known: {', '.join(SOURCE_FORMS)})")
    return [{"role": "system", "content": system}, {"role": "user", "content": user.rstrip()}]
