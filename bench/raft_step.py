"""One training step's time and memory by rows per forward: why the quick profile budgets tokens per forward.

RAFT's examples carry top_k sources (~440 tokens on business_flow against ~140 closed book), so at
batch 8 one forward holds ~3,500 tokens. This times optimizer steps of the scenario's quick RAFT (or
closed-book) examples at batch 8, split into forwards of --rows rows (the loss weighted as training
does), with eager or sdpa attention, bf16 autocast, the quick profile's LoRA; it prints seconds per
step (median of steps 2..N) and the process's peak RSS. Run one setting per process (the RSS is the
process's peak): python bench/raft_step.py --scenario business_flow --rows 3
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import types


def main() -> None:
    import torch

    from harness.config import builtin_scenario_paths, load_scenario
    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES
    from harness.prompts import closed_book
    from harness.strategies.raft import raft_examples
    from harness.training import _collate, answer_loss, answer_tokens, attach_lora, encode_example, shared_prefix_len

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="business_flow")
    p.add_argument("--examples", choices=["raft", "closed-book"], default="raft")
    p.add_argument("--rows", type=int, default=8, help="rows per forward (8: the whole batch at once)")
    p.add_argument("--attention", choices=["eager", "sdpa"], default="eager")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = p.parse_args()
    sc = load_scenario(next(path for path in builtin_scenario_paths() if path.stem == a.scenario))
    prof = PROFILES["quick"]
    cfg = prof.train_config("raft" if a.examples == "raft" else "lora")
    task = types.SimpleNamespace(scenario=sc, profile=prof, seed=0, profile_name="quick")
    if a.examples == "raft":
        examples = raft_examples(task)
    else:
        examples = [(closed_book(sc.spec.system_prompt, t.instruction), t.response) for t in sc.train_for("quick")]
    ref = resolve_model("embedded")
    tok = load_tokenizer(ref)
    encoded = [encode_example(tok, m, r, cfg.max_length) for m, r in examples]
    lengths = [len(ids) for ids, _ in encoded]
    prefix = shared_prefix_len(encoded)
    device = resolve_device(a.device)
    model = attach_lora(load_causal_lm(ref, device), cfg, quantized=False, seed=0)
    model.get_base_model().set_attn_implementation(a.attention)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr)
    model.train()
    times = []
    for step in range(a.steps):
        batch = (encoded[step * 8 % len(encoded):] + encoded)[:8]
        start = time.perf_counter()
        total = answer_tokens(batch)
        for i in range(0, len(batch), a.rows):
            part = batch[i:i + a.rows]
            inputs = {k: v.to(device.device) for k, v in _collate(part, tok.pad_token_id).items()}
            with torch.autocast(device.device, dtype=torch.bfloat16):
                loss = answer_loss(model, inputs, prefix) * (answer_tokens(part) / total)
            loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{a.scenario} {a.examples}: {len(encoded)} examples, {statistics.fmean(lengths):.0f} tokens on average "
          f"(max {max(lengths)}), shared prefix {prefix}")
    print(f"rows per forward {a.rows}, {a.attention} attention: s/step {[round(t, 2) for t in times]}, "
          f"median of steps 2..{a.steps} {statistics.median(times[1:]):.2f} s; peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
