"""Training throughput: harness's LoRA loop against a plain transformers Trainer + peft baseline.

Same model (the embedded SmolLM2-135M-Instruct), same LoRA settings, same examples in the same
number of optimizer steps at batch 8 with dynamic padding, same machine, same process, one after
the other. Prints tokens/s (the examples' non-padding tokens over the wall time of the steps: harness computes
the shared system prompt once per micro-batch, so its own computed-token rate is lower) and the final loss
of each, the median over --repeats runs, and the ratio. Run: python bench/train_throughput.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any


def examples(scenario: str, n: int) -> list[tuple[list[dict[str, str]], str]]:
    from harness.config import builtin_scenario_paths, load_scenario
    from harness.prompts import closed_book

    sc = load_scenario(next(p for p in builtin_scenario_paths() if p.stem == scenario))
    return [(closed_book(sc.spec.system_prompt, t.instruction), t.response) for t in sc.train_for("full")[:n]]


def run_harness(ref: Any, tok: Any, data: list, cfg: Any, autocast: str, device: Any) -> tuple[float, float]:
    from dataclasses import replace

    from harness.models import load_causal_lm
    from harness.training import attach_lora, train

    cfg = replace(cfg, autocast=autocast)
    model = attach_lora(load_causal_lm(ref, device), cfg, quantized=False)
    stats = train(model, tok, data, cfg, seed=0, device=device.device)
    return stats.example_tokens_per_s, statistics.fmean(stats.losses[-4:])


def run_trainer(ref: Any, tok: Any, data: list, cfg: Any, bf16: bool, device: Any) -> tuple[float, float]:
    """The baseline: transformers.Trainer + peft, full-sequence loss from the model, dynamic padding."""
    import torch
    from transformers import Trainer, TrainerCallback, TrainingArguments

    from harness.models import load_causal_lm
    from harness.training import _collate, attach_lora, encode_example

    encoded = [encode_example(tok, m, r, cfg.max_length) for m, r in data]
    model = attach_lora(load_causal_lm(ref, device), cfg, quantized=False)
    losses: list[float] = []
    tokens = [0]

    class Collect(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))

    def collate(batch: list) -> dict[str, Any]:
        out = _collate(batch, tok.pad_token_id)
        tokens[0] += int(out["attention_mask"].sum())
        return out

    args = TrainingArguments(output_dir="/tmp/harness-bench-trainer", per_device_train_batch_size=cfg.batch_size,
                             max_steps=cfg.steps, learning_rate=cfg.lr, warmup_steps=cfg.warmup_steps,
                             logging_steps=1, save_strategy="no", report_to=[], bf16=bf16, use_cpu=device.device == "cpu",
                             dataloader_num_workers=0, seed=0, disable_tqdm=True, remove_unused_columns=False)
    trainer = Trainer(model=model, args=args, train_dataset=encoded, data_collator=collate, callbacks=[Collect()])
    torch.manual_seed(0)
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return tokens[0] / seconds, statistics.fmean(losses[-4:])


def main() -> None:
    import torch

    from dataclasses import replace

    from harness.models import bf16_native, load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="business_flow")
    p.add_argument("--examples", type=int, default=24)
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = p.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    ref = resolve_model("embedded")
    tok = load_tokenizer(ref)
    data = examples(a.scenario, a.examples)
    # the quick profile's LoRA settings (r 16 on every linear projection, lr 2e-3, no dropout), fewer steps
    cfg = replace(PROFILES["quick"].train, steps=a.steps, epochs=None, batch_size=8)
    device = resolve_device(a.device)
    bf16 = bf16_native(device.device)
    runs: dict[str, list[tuple[float, float]]] = {}
    configs = [("trainer+peft fp32", lambda: run_trainer(ref, tok, data, cfg, False, device))]
    if bf16:
        configs.append(("trainer+peft bf16 autocast", lambda: run_trainer(ref, tok, data, cfg, True, device)))
    configs.append(("harness (auto)", lambda: run_harness(ref, tok, data, cfg, "auto", device)))
    print(f"LoRA r {cfg.r}, alpha {cfg.alpha}, dropout {cfg.dropout}, lr {cfg.lr}, batch {cfg.batch_size}, "
          f"{cfg.steps} steps, torch threads {torch.get_num_threads()}", flush=True)
    for r in range(a.repeats):
        for name, fn in configs:
            runs.setdefault(name, []).append(fn())
            tps, loss = runs[name][-1]
            print(f"run {r + 1} {name:28s} {tps:7.1f} tok/s  final loss {loss:.3f}", flush=True)
    med = {name: (statistics.median(t for t, _ in v), statistics.median(loss for _, loss in v)) for name, v in runs.items()}
    baseline = max((n for n in med if n.startswith("trainer")), key=lambda n: med[n][0])
    print(f"\n{a.scenario}, {a.examples} examples, {a.steps} steps at batch 8, median of {a.repeats}:")
    for name, (tps, loss) in med.items():
        print(f"  {name:28s} {tps:7.1f} tok/s  final loss {loss:.3f}")
    h = med["harness (auto)"]
    print(f"  ratio harness / fastest baseline ({baseline}): {h[0] / med[baseline][0]:.2f}x tokens/s, "
          f"final loss {h[1]:.3f} vs {med[baseline][1]:.3f}")


if __name__ == "__main__":
    main()
