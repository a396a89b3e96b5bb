"""QLoRA vs LoRA on the same model and data: training time and peak memory, measured, and their ratios.

The received wisdom says QLoRA (NF4 base weights) trains ~30% slower with much less memory. This
measures it here: CUDA peak allocated memory on a GPU, peak resident memory on a CPU (labelled).
Run: python bench/qlora_vs_lora.py [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_throughput import examples  # noqa: E402


def one(four_bit: bool, ref: object, tok: object, data: list, cfg: object, device: object) -> tuple[float, float, str]:
    from harness.models import load_causal_lm
    from harness.training import attach_lora, train

    model = attach_lora(load_causal_lm(ref, device, four_bit=four_bit), cfg, quantized=four_bit)
    stats = train(model, tok, data, cfg, seed=0, device=device.device)
    return stats.seconds, stats.memory.peak_mb, stats.memory.kind


def main() -> None:
    from dataclasses import replace

    from harness.models import load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", default="multi_fact_qa")
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--device", default="auto")
    p.add_argument("--model", default="embedded")
    a = p.parse_args()
    device = resolve_device(a.device)
    ref = resolve_model(a.model)
    tok = load_tokenizer(ref)
    data = examples(a.scenario, 24)
    cfg = replace(PROFILES["quick"].train, steps=a.steps, epochs=None, batch_size=8)  # the default run's LoRA settings
    res: dict[str, list[tuple[float, float, str]]] = {"lora": [], "qlora": []}
    for r in range(a.repeats):
        for name in ("lora", "qlora"):
            res[name].append(one(name == "qlora", ref, tok, data, cfg, device))
            s, mb, kind = res[name][-1]
            print(f"run {r + 1} {name:6s} {s:7.1f} s  peak {mb:7.0f} MB ({kind})", flush=True)
    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in res.items()}
    kind = res["lora"][0][2]
    print(f"\n{ref.name} on {device.name} ({device.device}, {device.dtype}), {a.steps} steps, median of {a.repeats}:")
    for name, (s, mb) in med.items():
        print(f"  {name:6s} {s:7.1f} s  peak {mb:7.0f} MB ({kind})")
    print(f"  QLoRA / LoRA: training time {med['qlora'][0] / med['lora'][0]:.2f}x, "
          f"peak memory {med['qlora'][1] / med['lora'][1]:.2f}x")


if __name__ == "__main__":
    main()
