"""Which held-out items the training set already answers: every eval item's slice, from the data alone.

A question the model was trained on is not a test of generalisation, so results show each slice
apart (for every scenario, a user's too):
- `seen`: one training response states everything a right answer needs (its facts and house terms,
  or for a business flow its whole action);
- `composed`: every piece is stated somewhere in training, never all in one response;
- `unseen`: at least one piece is never stated in training;
- `changed`: a corpus_update item whose answer differs from the original corpus's (its own slice,
  whatever training says: training predates the change).
Matching uses the scorers' own normalisation (`harness.textnorm`), so "stated" means what "right" means.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.data import EvalItem, TrainItem
from harness.scorers.business_flow import same_value, stated_action
from harness.textnorm import contains, mentions

SLICES = ("seen", "composed", "unseen")
UPDATE_SLICE = "changed"

Piece = tuple[str, Any, Any]  # ("fact", text, None) | ("term", text, None) | ("field", name, value)


def pieces(item: EvalItem) -> list[Piece]:
    """What a right answer must contain, as the item's scorer fields say; the reference when it has none."""
    out: list[Piece] = [("fact", f, None) for f in item.required_facts]
    out += [("term", t, None) for t in item.required_terms]
    out += [("field", k, v) for k, v in (item.expected_fields or {}).items()]
    return out or [("fact", item.reference, None)]


def states(t: TrainItem, piece: Piece) -> bool:
    kind, a, b = piece
    if kind == "field":
        fields = stated_action(t) or {}
        return a in fields and same_value(fields[a], b)
    return contains(t.response, a) if kind == "fact" else mentions(t.response, a)


def slice_of(item: EvalItem, train: Sequence[TrainItem], update: bool = False) -> str:
    if update and item.changed:
        return UPDATE_SLICE
    needed = pieces(item)
    stated = [[states(t, p) for p in needed] for t in train]
    if any(all(row) for row in stated):
        return "seen"
    if all(any(row[j] for row in stated) for j in range(len(needed))):
        return "composed"
    return "unseen"


def assign(items: Sequence[EvalItem], train: Sequence[TrainItem], update: bool = False) -> dict[str, str]:
    """item id -> slice."""
    return {i.id: slice_of(i, train, update) for i in items}


def counts(slices: dict[str, str]) -> dict[str, int]:
    out = {s: 0 for s in (*SLICES, UPDATE_SLICE)}
    for s in slices.values():
        out[s] += 1
    return {k: v for k, v in out.items() if v or k in SLICES}
