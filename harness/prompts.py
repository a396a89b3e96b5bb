"""Chat messages for every strategy, built in one place so strategies differ only where they should."""

from __future__ import annotations

from collections.abc import Sequence

Message = dict[str, str]


def closed_book(system: str, question: str) -> list[Message]:
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def with_sources(system: str, question: str, sources: Sequence[tuple[str, str]]) -> list[Message]:
    """The retrieved passages, each tagged with its id so an answer can cite it."""
    listed = "\n".join(f"[{sid}] {text}" for sid, text in sources)
    user = f"Sources:\n{listed}\n\nUsing the sources above, answer: {question}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
