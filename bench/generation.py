"""Generation throughput: one item at a time vs plain batched `generate` vs harness's batched answering.

RAG-style prompts (the quick eval slice of a scenario with its retrieved sources) and the same
questions closed book, greedy decoding, the embedded model on this machine, harness at the quick
profile's batch size, in fp32 and (where the CPU computes bf16 natively, as the quick profile's "auto"
answer precision then does) under bf16 autocast. Prints answers/s of each, the median over --repeats
runs, the ratios, and whether the batched answers equal the one-at-a-time answers (in fp32 they must,
under greedy decoding, or batching changed the result; in bf16 some differ, which is why the whole
matrix is compared with bench/same_run.py). Run: python bench/generation.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def prompts(scenario: str, n: int, top_k: int) -> tuple[Any, list[list[dict[str, str]]]]:
    from harness.config import builtin_scenario_paths, load_scenario
    from harness.models import embedder_path
    from harness.prompts import with_sources
    from harness.retrieval import Embedder, HybridIndex

    sc = load_scenario(next(p for p in builtin_scenario_paths() if p.stem == scenario))
    items = sc.eval_for("quick")[:n]
    index = HybridIndex(sc.corpus, Embedder(embedder_path()))
    hits = index.search_many([i.question for i in items], top_k)
    return sc, [with_sources(sc.spec.system_prompt, i.question, [(r.chunk.id, r.chunk.text) for r in rs])
                for i, rs in zip(items, hits)]


def plain(model: Any, tok: Any, convs: list, max_new: int, batch: int) -> list[str]:
    """transformers generate with left padding, in input order: the baseline."""
    import torch

    tok.padding_side = "left"
    texts = [tok.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in convs]
    out: list[str] = []
    for s in range(0, len(texts), batch):
        enc = tok(texts[s:s + batch], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max_new, do_sample=False, pad_token_id=tok.pad_token_id)
        for row in gen[:, enc["input_ids"].shape[1]:]:
            out.append(tok.decode(row[row != tok.pad_token_id], skip_special_tokens=True).strip())
    return out


def closed_book_prompts(sc: Any, n: int) -> list[list[dict[str, str]]]:
    from harness.prompts import closed_book

    return [closed_book(sc.spec.system_prompt, i.question) for i in sc.eval_for("quick")[:n]]


def main() -> None:
    from harness.generation import generate
    from harness.models import answer_precision, load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="multi_fact_qa")
    p.add_argument("--items", type=int, default=24, help="the quick eval set has 24")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = p.parse_args()
    ref = resolve_model("embedded")
    tok = load_tokenizer(ref)
    device = resolve_device(a.device)
    model = load_causal_lm(ref, device)
    batch = PROFILES["quick"].gen_batch
    precision = answer_precision(PROFILES["quick"].answer_precision, device)
    sc, rag = prompts(a.scenario, a.items, 4)
    for label, convs in (("RAG prompts (4 sources)", rag), ("closed-book prompts", closed_book_prompts(sc, a.items))):
        ways = {
            "one at a time": lambda: plain(model, tok, convs, a.max_new_tokens, 1),
            "plain generate, batch 8": lambda: plain(model, tok, convs, a.max_new_tokens, 8),
            f"harness generate, batch {batch}": lambda: generate(model, tok, convs, a.max_new_tokens, batch).texts,
        }
        if precision != "float32":
            ways[f"harness, batch {batch}, {precision}"] = lambda: generate(
                model, tok, convs, a.max_new_tokens, batch, precision=precision).texts
        rates: dict[str, list[float]] = {}
        answers: dict[str, list[str]] = {}
        for r in range(a.repeats):
            for name, fn in ways.items():
                t = time.perf_counter()
                answers[name] = fn()
                rates.setdefault(name, []).append(len(convs) / (time.perf_counter() - t))
                print(f"run {r + 1} {label}: {name:28s} {rates[name][-1]:.2f} answers/s", flush=True)
        med = {k: statistics.median(v) for k, v in rates.items()}
        print(f"\n{a.scenario}, {len(convs)} {label}, {a.max_new_tokens} new tokens max, median of {a.repeats}:")
        for name, v in med.items():
            same = sum(x == y for x, y in zip(answers[name], answers["one at a time"]))
            print(f"  {name:28s} {v:.2f} answers/s   same answers as one at a time: {same}/{len(convs)}")
        mine = med[f"harness generate, batch {batch}"]
        print(f"  harness vs one at a time: {mine / med['one at a time']:.2f}x; "
              f"harness vs plain batch 8: {mine / med['plain generate, batch 8']:.2f}x", flush=True)
        if precision != "float32":
            half = med[f"harness, batch {batch}, {precision}"]
            print(f"  harness in {precision} vs plain batch 8: {half / med['plain generate, batch 8']:.2f}x; "
                  f"vs harness in fp32: {half / mine:.2f}x", flush=True)
        print()


if __name__ == "__main__":
    main()
