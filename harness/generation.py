"""Batched greedy chat generation: left padding, length-sorted batches, answers in input order."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.prompts import Message


@dataclass
class Answers:
    texts: list[str]
    seconds_per_answer: list[float]  # each batch's wall time shared equally by its items
    new_tokens: int


def generate(model: Any, tokenizer: Any, conversations: list[list[Message]], max_new_tokens: int,
             batch_size: int = 8, on_batch: Callable[[int], None] | None = None) -> Answers:
    import torch

    prompts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    secs: list[float] = [0.0] * len(prompts)
    new_tokens = 0
    device = next(model.parameters()).device
    tokenizer.padding_side = "left"
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        t0 = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        dt = time.perf_counter() - t0
        gen = out[:, enc["input_ids"].shape[1]:]
        for row, i in enumerate(idx):
            ids = gen[row]
            keep = ids[ids != tokenizer.pad_token_id]
            new_tokens += int(keep.numel())
            texts[i] = tokenizer.decode(keep, skip_special_tokens=True).strip()
            secs[i] = dt / len(idx)
        if on_batch:
            on_batch(len(idx))
    return Answers(texts, secs, new_tokens)
