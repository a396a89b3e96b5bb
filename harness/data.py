"""Corpus, train and eval records: their schemas and a JSONL reader that names the bad line.

Records are validated one by one so that an error names the file, the line and the field;
a data set with a thousand good lines and one bad one must say which one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.errors import ConfigError, format_validation_error


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Document(_Record):
    id: str = Field(min_length=1)
    title: str
    text: str = Field(min_length=1)


class TrainItem(_Record):
    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    response: str = Field(min_length=1)
    source_doc_ids: list[str] = []
    # optional, as in EvalItem: what the scorer needs to score the model on its own training items
    required_facts: list[str] = []
    required_terms: list[str] = []
    forbidden_terms: list[str] = []
    expected_fields: dict[str, Any] | None = None

    def as_eval_item(self) -> "EvalItem":
        """This item as a question to score (train_accuracy): the response is the reference."""
        return EvalItem(id=self.id, question=self.instruction, reference=self.response,
                        gold_doc_ids=self.source_doc_ids, required_facts=self.required_facts,
                        required_terms=self.required_terms, forbidden_terms=self.forbidden_terms,
                        expected_fields=self.expected_fields)


class EvalItem(_Record):
    """A held-out question; the scorer-specific fields say what a right answer must contain. A free-form
    item (a help desk's question and answer) has only `question` and `reference`, perhaps `gold_doc_ids`:
    it is scored against the reference, and retrieval is measured only where gold documents are named."""

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    reference: str = Field(min_length=1)
    gold_doc_ids: list[str] = []
    required_facts: list[str] = []
    required_terms: list[str] = []
    forbidden_terms: list[str] = []
    expected_fields: dict[str, Any] | None = None
    # exactly three plausible wrong answers, for multiple-choice log-likelihood scoring
    wrong_options: list[str] = Field(default=[], max_length=3)
    # in a corpus_update eval set: whether the answer differs from the original corpus's
    changed: bool | None = None


R = TypeVar("R", bound=_Record)


def read_jsonl(path: Path, model: type[R], shown: str | None = None) -> list[R]:
    """Parse every line of `path` as `model`; the first bad line raises a one-line ConfigError."""
    shown = shown or str(path)
    records: list[R] = []
    seen: dict[str, int] = {}
    try:
        # split on newlines only: U+2028 and other Unicode line breaks are valid inside a JSON string
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: not UTF-8 text ({exc.reason})") from None
    except IsADirectoryError:
        raise ConfigError(f"{shown}: is a folder, not a JSONL file") from None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{shown}:{lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{shown}:{lineno}: expected a JSON object, got {type(raw).__name__}")
        try:
            rec = model.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(f"{shown}:{lineno}: {format_validation_error(exc)}") from None
        rid = getattr(rec, "id")
        if rid in seen:
            raise ConfigError(f"{shown}:{lineno}: id: duplicate id '{rid}' (first on line {seen[rid]})")
        seen[rid] = lineno
        records.append(rec)
    if not records:
        raise ConfigError(f"{shown}: no records (the file is empty)")
    return records
