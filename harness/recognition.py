"""Recognition: how likely the strategy finds the reference's key facts, under its own prompt.

A small model may write almost no right answer while still preferring the right one: lm-eval scores such
models by log-likelihood (`acc`, `acc_norm`), OLMES (Gu et al. 2024) finds small models need that cloze
form, and DataDecide (Magnusson et al. 2025) finds likelihood rankings at ~150M predict those at 1B in about
80% of comparisons. Multiple choice needs wrong options, which a team's own scenario does not have; this
measure needs only the reference. Per eval item: the strategy's own prompt (its sources for a retrieving
strategy, its adapter for a fine-tuned one), then the reference as the answer, teacher-forced, in one
forward; the log-probabilities of the tokens that carry the item's key facts, summed and divided by those
tokens' UTF-8 bytes: **mean log-likelihood per byte of the key facts** (nats, at most 0, higher is better;
per byte, as lm-eval's acc_norm, so a fact split into more tokens is not penalised).

Only the key-fact tokens count: a fine-tuned adapter learns the references' wording ("KP-... is supplied
by ..., whose lead time is ..."), and a likelihood over the whole reference would reward that template; the
facts (the supplier, the figure, the field values) are what it must know. The key facts are the scorer's:
the required facts the question does not state, the expected JSON field values, or (no facts declared) the
whole reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness.data import EvalItem
from harness.scorers.facts import asked_facts

BATCH = 8


def key_texts(item: EvalItem) -> list[str]:
    """What in the reference carries the answer: the facts the question does not give, else the expected
    fields' values, else nothing (the whole reference is then scored)."""
    if item.required_facts:
        return asked_facts(item)
    if item.expected_fields:
        return [v if isinstance(v, str) else str(v) for v in item.expected_fields.values()]
    return []


def key_spans(item: EvalItem) -> list[tuple[int, int]]:
    """Character spans of the key facts in the reference (first occurrence, case-insensitive); the whole
    reference where none is found (a fact written otherwise there, or none declared)."""
    ref = item.reference.lower()
    spans = []
    for text in key_texts(item):
        at = ref.find(text.lower())
        if at >= 0:
            spans.append((at, at + len(text)))
    return spans or [(0, len(item.reference))]


def keyfact_loglik(model: Any, tokenizer: Any, conversations: Sequence[list[dict[str, str]]],
                   items: Sequence[EvalItem], precision: str = "float32") -> list[float]:
    """Per item, the mean log-likelihood per byte of its key facts after its prompt (module docstring)."""
    import torch

    from harness.generation import answering_in

    rows = []
    for conv, item in zip(conversations, items):
        prompt = tokenizer.apply_chat_template(conv, tokenize=True, add_generation_prompt=True)
        prompt = list(prompt["input_ids"] if hasattr(prompt, "keys") else prompt)
        enc = tokenizer(item.reference, add_special_tokens=False, return_offsets_mapping=True)
        spans = key_spans(item)
        keep = [n for n, (a, b) in enumerate(enc["offset_mapping"]) if any(a < e and b > s for s, e in spans)]
        nbytes = sum(len(item.reference[a:b].encode()) for a, b in (enc["offset_mapping"][n] for n in keep))
        rows.append((prompt, list(enc["input_ids"]), keep, nbytes))
    device = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: list[float] = [math.nan] * len(rows)
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1]))
    with torch.inference_mode(), answering_in(model, precision):
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            seqs = [rows[i][0] + rows[i][1] for i in idx]
            width = max(len(s) for s in seqs)
            ids = torch.tensor([s + [pad] * (width - len(s)) for s in seqs], device=device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=device)
            logits = model(input_ids=ids, attention_mask=mask).logits
            for row, i in enumerate(idx):
                prompt, ref, keep, nbytes = rows[i]
                if not keep or nbytes == 0:
                    continue
                # the token at position t is predicted by the logits at t - 1
                at = torch.tensor([len(prompt) + n - 1 for n in keep], device=device)
                logp = torch.log_softmax(logits[row, at].float(), dim=-1)
                target = torch.tensor([ref[n] for n in keep], device=device)
                out[i] = float(logp.gather(1, target[:, None]).sum()) / nbytes
    return out
