"""`harness scenarios new`: a valid scenario from a folder of documents and a file of question/answer pairs.

A help desk has questions and answers, not `required_facts` or wrong options: the scenario it gets is of
kind `custom`, its items carry key facts derived from each reference (harness.keyfacts: what answers the
question and is not in it), written into the records for the team to read and correct, and scored like
`required_facts` (scorer `facts`; token F1 beside it, secondary). The writer says what it could not fill
and what that leaves unmeasured.
"""

from __future__ import annotations

import csv
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.config import allowed_roots
from harness.documents import read_folder
from harness.keyfacts import FALLBACK_WORDS, document_frequencies, key_facts
from harness.errors import HarnessError


@dataclass
class QAColumns:
    question: str = "question"
    answer: str = "answer"
    docs: str | None = None  # documents that hold the answer: file paths relative to the corpus, ";"-separated


def read_pairs(path: Path, cols: QAColumns) -> list[dict[str, Any]]:
    """Rows of a CSV or JSONL file, each with the named columns; one error line naming the file otherwise."""
    if not path.is_file():
        raise HarnessError(f"--qa {path}: file not found")
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as f:
                rows = list(csv.DictReader(f))
        elif path.suffix.lower() in (".jsonl", ".json"):
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        else:
            raise HarnessError(f"--qa {path}: expected a .csv or .jsonl file")
    except (UnicodeDecodeError, json.JSONDecodeError, csv.Error) as exc:
        raise HarnessError(f"--qa {path}: cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0]})") from None
    if not rows:
        raise HarnessError(f"--qa {path}: no rows")
    have = set(rows[0])
    wanted = [c for c in (cols.question, cols.answer, cols.docs) if c]
    missing = [c for c in wanted if c not in have]
    if missing:
        raise HarnessError(f"--qa {path}: no column {', '.join(missing)} (columns: {', '.join(sorted(have))}); "
                           "name them with --question-column / --answer-column / --doc-column")
    return rows


def write_scenario(corpus: Path, qa: Path, out: Path, name: str | None = None, cols: QAColumns | None = None,
                   eval_share: float = 0.5, seed: int = 0) -> list[str]:
    """Write OUT (the YAML) and OUT's data folder (train.jsonl, eval.jsonl); returns notes on what is unfilled."""
    cols = cols or QAColumns()
    if not corpus.is_dir():
        raise HarnessError(f"--corpus {corpus}: not a folder")
    if not 0 < eval_share < 1:
        raise HarnessError(f"--eval-share {eval_share}: expected a share between 0 and 1")
    name = name or out.stem
    docs, _ = read_folder(corpus, shown=f"--corpus {corpus}")
    doc_ids = {d.id for d in docs}
    notes: list[str] = []
    pairs = []
    for n, row in enumerate(read_pairs(qa, cols), start=2 if qa.suffix.lower() == ".csv" else 1):
        q, a = str(row.get(cols.question) or "").strip(), str(row.get(cols.answer) or "").strip()
        if not q or not a:
            notes.append(f"{qa}:{n}: an empty question or answer; left out")
            continue
        gold = []
        for ref in (str(row.get(cols.docs) or "").split(";") if cols.docs else []):
            ref = ref.strip()
            if ref and ref in doc_ids:
                gold.append(ref)
            elif ref:
                notes.append(f"{qa}:{n}: document '{ref}' is not in the corpus; not used as a gold document")
        pairs.append((q, a, gold))
    if len(pairs) < 2:
        raise HarnessError(f"--qa {qa}: needs at least 2 usable question/answer pairs (one to train, one to test)")
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    n_eval = min(max(1, round(len(pairs) * eval_share)), len(pairs) - 1)
    eval_idx, train_idx = sorted(order[:n_eval]), sorted(order[n_eval:])
    data = out.parent / name
    data.mkdir(parents=True, exist_ok=True)
    df, n_docs = document_frequencies(d.text for d in docs)
    facts = [key_facts(q, a, df, n_docs) or [a] for q, a, _ in pairs]  # no fact outside the question: the whole answer
    train = [{"id": f"train-{i + 1}", "instruction": pairs[i][0], "response": pairs[i][1],
              "source_doc_ids": pairs[i][2], "required_facts": facts[i]} for i in train_idx]
    evals = [{"id": f"eval-{i + 1}", "question": pairs[i][0], "reference": pairs[i][1],
              **({"gold_doc_ids": pairs[i][2]} if pairs[i][2] else {}), "required_facts": facts[i]} for i in eval_idx]
    for fname, records in (("train.jsonl", train), ("eval.jsonl", evals)):
        (data / fname).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    rel = lambda p: os.path.relpath(p.resolve(), out.parent.resolve())  # noqa: E731
    spec = {
        "name": name,
        "description": f"Questions and answers from {qa.name} over the documents in {corpus.name}/ "
                       "(written by harness scenarios new).",
        "kind": "custom",
        "corpus": rel(corpus) + "/",
        "train": rel(data / "train.jsonl"),
        "eval": rel(data / "eval.jsonl"),
        "scorer": "facts",
        "system_prompt": "Answer the question in one or two short sentences.",
        "profiles": {"smoke": {"train": min(4, len(train)), "eval": min(4, len(evals))},
                     "quick": {"train": len(train), "eval": len(evals)},
                     "full": {"train": len(train), "eval": len(evals)}},
    }
    out.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    notes += [
        f"split: {len(train)} pairs to train on, {len(evals)} to evaluate (seed {seed}, --eval-share {eval_share})",
        f"required_facts: the key facts of each reference that its question does not state (codes, numbers, "
        f"options, names; else its {FALLBACK_WORDS} rarest words in the documents), written into {data.name}/"
        "train.jsonl and eval.jsonl: read them and correct any that do not carry the answer; accuracy is all of "
        "an item's key facts stated (scorer facts), token F1 against the reference is a secondary column",
        "wrong_options: not filled; multiple-choice accuracy is not measured",
        "corpus_update: not filled; the changed-data slice is not measured",
    ]
    with_gold = sum(bool(e.get("gold_doc_ids")) for e in evals)
    if with_gold < len(evals):
        notes.append(f"gold_doc_ids: {len(evals) - with_gold} of {len(evals)} eval items name no document"
                     + ("" if cols.docs else " (no --doc-column)") + "; retrieval metrics are not measured on them")
    return notes
