"""Batched greedy chat generation: left padding, length-sorted batches, answers in input order.

A small model answering from retrieved sources often loops (one code or phrase repeated until
max_new_tokens). transformers' own `no_repeat_ngram_size` and `repetition_penalty` look at the whole
sequence, prompt included, so they would also forbid copying a part code or a sentence from the
sources, which is what a RAG answer must do. `AnswerNoRepeat` bans an n-gram only when the answer
itself already wrote it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.measure import out_of_memory_as
from harness.prompts import Message


# a prompt's token ids -> per layer (keys, values) of exactly those tokens at batch 1 (keep_prompt_states)
PromptStates = dict[tuple[int, ...], list[tuple[Any, Any]]]


@dataclass
class Answers:
    texts: list[str]
    seconds_per_answer: list[float]  # each batch's wall time shared equally by its items
    new_tokens: int
    prompt_states: PromptStates = field(default_factory=dict)


def prompt_states(cache: Any, input_ids: Any, attention_mask: Any) -> PromptStates:
    """Each row's prompt keys and values cut out of a left-padded batch's generation cache, so multiple choice
    can score continuations of the same prompt without running it again. Views, not copies: keeping them
    allocates nothing, so the answering peak is what it was. Empty where the cache does not hold every prompt
    position in plain per-layer tensors (sliding-window or quantized caches): callers recompute."""
    width = input_ids.shape[1]
    layers = getattr(cache, "layers", None)
    if not layers or any(getattr(layer, "keys", None) is None or layer.keys.shape[2] < width for layer in layers):
        return {}
    out: PromptStates = {}
    for row in range(input_ids.shape[0]):
        start = int((attention_mask[row] == 0).sum())  # left padding
        out[tuple(input_ids[row, start:].tolist())] = [
            (layer.keys[row:row + 1, :, start:width], layer.values[row:row + 1, :, start:width]) for layer in layers]
    return out


def state_cache(state: list[tuple[Any, Any]], tokens: int) -> Any:
    """A model-ready cache of a prompt state's first `tokens` positions."""
    from transformers import DynamicCache

    cache = DynamicCache()
    for n, (keys, values) in enumerate(state):
        cache.update(keys[:, :, :tokens], values[:, :, :tokens], n)
    return cache


_SENTINEL = "HARNESS-END-OF-TURN-PROBE"


def end_of_turn_id(tokenizer: Any) -> int | None:
    """The token the chat template writes after an assistant turn (<|im_end|>, Phi-3's <|end|>, Llama-3's
    <|eot_id|>), read off the template itself; None when it writes no special token there."""
    cached = getattr(tokenizer, "_harness_end_of_turn", False)
    if cached is not False:
        return cached
    found = None
    try:
        text = tokenizer.apply_chat_template([{"role": "user", "content": "hi"},
                                              {"role": "assistant", "content": _SENTINEL}], tokenize=False)
        after = text.split(_SENTINEL, 1)[1]
        ids = tokenizer(after, add_special_tokens=False)["input_ids"]
        special = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}) or {})
        found = next((i for i in ids if i in special), None)
    except Exception:  # noqa: BLE001 - a template that cannot render this: the other stop tokens still apply
        found = None
    tokenizer._harness_end_of_turn = found
    return found


def stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """Where an answer ends: the tokenizer's eos, the model's generation-config eos ids and the template's
    end-of-turn token, all of them. Passing the tokenizer's eos alone replaces the generation config's list:
    Phi-3 (eos <|endoftext|>, turns end with <|end|>) and Llama-3 (<|eot_id|>) would then answer to
    max_new_tokens and run into extra turns, while fine-tuned cells learned to stop: a bias for fine-tuning."""
    ids: list[int] = []
    config = getattr(model, "generation_config", None)
    configured = getattr(config, "eos_token_id", None)
    for value in (tokenizer.eos_token_id, *(configured if isinstance(configured, list) else [configured]),
                  end_of_turn_id(tokenizer)):
        if isinstance(value, int) and value not in ids:
            ids.append(value)
    return ids


def autocast_to(model: Any, precision: str) -> Any:
    """The dtype `model`'s forwards autocast to for `precision` (models.answer_precision), or None: fp32 weights
    on a CPU are cast per forward, not copied, so the answering peak does not carry a second set of weights;
    a GPU's weights are already in their half dtype."""
    import torch

    on_cpu = next(model.parameters()).device.type == "cpu"
    return getattr(torch, precision) if on_cpu and precision != "float32" else None


def serving_precision(model: Any, precision: str) -> str:
    """The dtype one request at a time is answered in (latency). Where answers autocast fp32 weights on a CPU,
    the cast of every weight at every forward is paid once per token, so at batch 1 the cast costs more than
    it saves (34 vs 95 ms a token for the embedded model on the 2-core Xeon, bench/README.md); a server would
    hold the weights in the one dtype it serves, so a request is timed in the weights' own dtype."""
    return "float32" if autocast_to(model, precision) is not None else precision


@contextmanager
def answering_in(model: Any, precision: str) -> Iterator[None]:
    """Forwards of `model` under autocast to `precision`, where there is anything to cast (autocast_to)."""
    import torch

    dtype = autocast_to(model, precision)
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        yield


def answer_no_repeat(prompt_len: int, n: int) -> Any:
    """A logits processor that forbids repeating any n-gram of the answer (tokens after prompt_len) in it."""
    import torch
    from transformers import LogitsProcessor

    class AnswerNoRepeat(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            answer = input_ids[:, prompt_len:]
            if answer.shape[1] < n:
                return scores
            for row in range(answer.shape[0]):
                seq = answer[row].tolist()
                prefix = tuple(seq[len(seq) - n + 1:])
                banned = {seq[i + n - 1] for i in range(len(seq) - n + 1) if tuple(seq[i:i + n - 1]) == prefix}
                if banned:
                    scores[row, list(banned)] = -torch.inf
            return scores

    return AnswerNoRepeat()


def generate(model: Any, tokenizer: Any, conversations: list[list[Message]], max_new_tokens: int,
             batch_size: int = 8, on_batch: Callable[[int], None] | None = None,
             no_repeat_ngram: int = 0, keep_prompt_states: bool = False, precision: str = "float32") -> Answers:
    """Greedy answers, computed in `precision` (answering_in); with no_repeat_ngram = n > 0, no n-gram repeats
    within an answer (the prompt is free to be copied). keep_prompt_states: also hand back each prompt's keys
    and values (prompt_states), when the prompts fit one batch: an earlier batch's cache would otherwise stay
    resident while later batches answer, and the measured answering peak must not carry what scoring keeps."""
    import torch
    from transformers import LogitsProcessorList

    prompts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in conversations]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    texts: list[str] = [""] * len(prompts)
    secs: list[float] = [0.0] * len(prompts)
    new_tokens = 0
    states: PromptStates = {}
    keep_prompt_states = keep_prompt_states and len(prompts) <= batch_size
    device = next(model.parameters()).device
    stops = stop_ids(model, tokenizer)
    tokenizer.padding_side = "left"
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        enc = tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        t0 = time.perf_counter()
        extra = ({"logits_processor": LogitsProcessorList([answer_no_repeat(enc["input_ids"].shape[1],
                                                                             no_repeat_ngram)])}
                 if no_repeat_ngram > 0 else {})
        longest = enc["input_ids"].shape[1] + max_new_tokens
        with (torch.inference_mode(), answering_in(model, precision),
              out_of_memory_as("answering", len(idx), longest)):
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tokenizer.pad_token_id, eos_token_id=stops,
                                 return_dict_in_generate=keep_prompt_states, **extra)
        dt = time.perf_counter() - t0
        if keep_prompt_states:
            states.update(prompt_states(out.past_key_values, enc["input_ids"], enc["attention_mask"]))
            out = out.sequences
        gen = out[:, enc["input_ids"].shape[1]:]
        for row, i in enumerate(idx):
            ids = gen[row]
            keep = ids[ids != tokenizer.pad_token_id]
            new_tokens += int(keep.numel())
            texts[i] = tokenizer.decode(keep, skip_special_tokens=True).strip()
            secs[i] = dt / len(idx)
        if on_batch:
            on_batch(len(idx))
    return Answers(texts, secs, new_tokens, states)
