"""lm-evaluation-harness tasks from a scenario's eval set, and mc_accuracy through lm_eval.simple_evaluate.

Each question becomes a multiple-choice item over the reference and its three wrong options; the model
picks the option with the highest log-likelihood, so the score does not depend on parsing generated
text (the scoring Ovadia et al. 2023 use for knowledge injection). The same writer serves
`harness export-lm-eval` (users run the lm_eval CLI on it) and the run's own mc_accuracy column.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from harness.data import EvalItem
from harness.errors import HarnessError
from harness.generation import PromptStates, answering_in, autocast_to, state_cache


def task_name(scenario: str, variant: str = "") -> str:
    return "harness_" + "".join(c if c.isalnum() else "_" for c in scenario + (f"_{variant}" if variant else ""))


def mc_records(items: Sequence[EvalItem], queries: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One record per item with 4 choices; the reference's position is a fixed function of the item id."""
    records = []
    for n, item in enumerate(items):
        if len(item.wrong_options) != 3:
            raise HarnessError(f"eval item {item.id}: multiple choice needs exactly 3 wrong_options "
                               f"(has {len(item.wrong_options)})")
        gold = int(hashlib.sha256(item.id.encode()).hexdigest(), 16) % 4
        choices = list(item.wrong_options)
        choices.insert(gold, item.reference)
        records.append({"id": item.id, "query": queries[n] if queries else item.question, "choices": choices,
                        "gold": gold})
    return records


def write_task(out_dir: Path, name: str, records: list[dict[str, Any]], description: str = "") -> Path:
    """A task YAML plus its JSONL; the data path is absolute (lm_eval resolves it against the working dir)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = (out_dir / f"{name}.jsonl").resolve()
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    config = {
        "task": name,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "{{query}}",
        "doc_to_choice": "{{choices}}",
        "doc_to_target": "{{gold}}",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True},
                        {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}],
        "metadata": {"version": 1.0, "description": description},
    }
    path = out_dir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def mc_scores(model: Any, tokenizer: Any, records: list[dict[str, Any]], system: str,
              batch_size: int = 8, states: PromptStates | None = None,
              precision: str = "float32") -> list[tuple[float, float]]:
    """Per record, in record order, via simple_evaluate: (acc, acc_norm), each 0/1. acc: the reference has the
    highest summed log-likelihood, which favours short options; acc_norm: the highest per character of the
    option (lm-eval's length normalisation), which does not. Computed in `precision`, as the answers were
    (`states` continue from them)."""
    import datasets
    import lm_eval.api.task as lm_task

    for noisy in ("lm-eval", "lm_eval", "lm_eval.evaluator", "lm_eval.models.huggingface", "lm_eval.api.task"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    datasets.disable_progress_bars()
    # lm-eval's per-request bars would interleave with the run's own; its request builder has no switch
    real_tqdm = lm_task.tqdm
    lm_task.tqdm = functools.partial(real_tqdm, disable=True)
    try:
        with answering_in(model, precision):
            return _evaluate(model, tokenizer, records, system, batch_size, states, precision)
    finally:
        lm_task.tqdm = real_tqdm


def _evaluate(model: Any, tokenizer: Any, records: list[dict[str, Any]], system: str,
              batch_size: int, states: PromptStates | None, precision: str) -> list[tuple[float, float]]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    class QuietHFLM(HFLM):
        def loglikelihood(self, requests: Any, disable_tqdm: bool = False) -> Any:
            return super().loglikelihood(requests, disable_tqdm=True)

        def _loglikelihood_tokens(self, requests: Any, disable_tqdm: bool = False, override_bs: Any = None) -> Any:
            fits = [len(c) + len(x) <= self.max_length + 1 for _, c, x in requests]
            out = shared_context_loglikelihoods(self.model, [r for r, ok in zip(requests, fits) if ok], states)
            rest = iter(super()._loglikelihood_tokens([r for r, ok in zip(requests, fits) if not ok], True, override_bs)
                        if not all(fits) else [])
            mine = iter(out)
            return [next(mine) if ok else next(rest) for ok in fits]

    # include_defaults=False: indexing lm-eval's thousands of built-in task YAMLs took 9 s per cell here
    with tempfile.TemporaryDirectory(prefix="harness-lmeval-") as tmp:
        name = task_name("cell")
        write_task(Path(tmp), name, records)
        # HFLM turns autocast off in its own forwards (the prompts too long for ours) unless told the dtype
        # (mixed_precision_dtype, lm-eval PR 3138, July 2025): passed only where there is one, as older
        # lm-evals lack it
        half = autocast_to(model, precision)
        lm = QuietHFLM(pretrained=model, tokenizer=tokenizer, batch_size=batch_size,
                       **({"mixed_precision_dtype": half} if half is not None else {}))
        tasks = TaskManager(include_path=tmp, include_defaults=False)
        with _our_commit():
            out = lm_eval.simple_evaluate(model=lm, tasks=[name], task_manager=tasks,
                                          apply_chat_template=True, system_instruction=system, log_samples=True,
                                          bootstrap_iters=0, verbosity="ERROR")
    by_doc = {s["doc_id"]: (float(s["acc"]), float(s["acc_norm"])) for s in out["samples"][name]}
    return [by_doc[i] for i in range(len(records))]


@contextmanager
def _our_commit() -> Iterator[None]:
    """lm-eval records the working directory's commit by running `git describe` unguarded, which prints
    "fatal: not a git repository" for every cell outside a checkout. Its results are read for their samples
    only (the row records harness's own commit), so it records none."""
    import lm_eval.evaluator as evaluator

    saved = evaluator.get_git_commit_hash
    evaluator.get_git_commit_hash = lambda: None
    try:
        yield
    finally:
        evaluator.get_git_commit_hash = saved


def shared_context_loglikelihoods(model: Any, requests: Sequence[tuple[Any, list[int], list[int]]],
                                  states: PromptStates | None = None) -> list[tuple[float, bool]]:
    """(sum of log-probabilities of the continuation, whether greedy decoding would produce it) per request,
    as lm-eval's HFLM computes them, but each context runs once for all its choices and the vocabulary
    projection is applied only where a continuation token is predicted.

    HFLM runs context + choice for every choice and takes a log-softmax over all 49,152 words at every
    position: on a RAG prompt (~600 tokens, 4 choices) that was 81 of a 160-second cell here.
    `states` (generate's prompt_states of the answers just given) spare even the one context forward:
    the context is the answered prompt, or that prompt without its trailing newline (lm-eval moves
    trailing whitespace into the continuation). Each state used is removed from `states`.
    """
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder, head = causal.get_decoder(), causal.get_output_embeddings()
    device = next(causal.parameters()).device
    pad = getattr(causal.config, "pad_token_id", None) or 0
    groups: dict[tuple[int, ...], list[int]] = {}
    for n, (_, context, _) in enumerate(requests):
        groups.setdefault(tuple(context), []).append(n)
    prefixes = _state_prefixes(states or {})
    out: list[tuple[float, bool]] = [(0.0, False)] * len(requests)
    with torch.inference_mode():
        for context, members in groups.items():
            # the context's last token runs with the choices, so a cache of the tokens before it serves
            past = _take_state(states, prefixes, context[:-1])
            if past is None and len(context) > 1:
                past = decoder(input_ids=torch.tensor([context[:-1]], device=device), use_cache=True).past_key_values
            seen = len(context) - 1
            rows = [[context[-1]] + list(requests[n][2])[:-1] for n in members]
            width = max(len(r) for r in rows)
            ids = torch.full((len(rows), width), pad, dtype=torch.long, device=device)
            mask = torch.zeros((len(rows), seen + width), dtype=torch.long, device=device)
            mask[:, :seen] = 1
            for row, tokens in enumerate(rows):
                ids[row, : len(tokens)] = torch.tensor(tokens)
                mask[row, seen: seen + len(tokens)] = 1
            if past is not None:
                past.batch_repeat_interleave(len(rows))
            hidden = decoder(input_ids=ids, attention_mask=mask, past_key_values=past, use_cache=past is not None)[0]
            for row, n in enumerate(members):
                cont = list(requests[n][2])
                logits = head(hidden[row, : len(cont)]).float()
                target = torch.tensor(cont, device=device)
                # log-softmax at the targets only: no second vocabulary-wide tensor (49,152 floats a token)
                logprob = float((logits.gather(1, target[:, None])[:, 0] - logits.logsumexp(-1)).sum())
                out[n] = (logprob, bool((logits.argmax(-1) == target).all()))
    return out


def _state_prefixes(states: PromptStates) -> dict[tuple[int, ...], tuple[tuple[int, ...], int]]:
    """context[:-1] -> (the prompt whose state covers it, how many of its tokens): the context is the whole
    prompt (its last token dropped) or the prompt without its trailing newline (its last two dropped)."""
    out: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {}
    for prompt in states:
        for keep in (len(prompt) - 1, len(prompt) - 2):
            if keep > 0:
                out.setdefault(prompt[:keep], (prompt, keep))
    return out


def _take_state(states: PromptStates | None, prefixes: dict[tuple[int, ...], tuple[tuple[int, ...], int]],
                tokens: tuple[int, ...]) -> Any:
    """The cached keys and values of exactly `tokens`, cut from an answered prompt's state; None if none holds them."""
    found = prefixes.get(tokens)
    if not states or found is None or found[0] not in states:
        return None
    prompt, keep = found
    return state_cache(states.pop(prompt), keep)
