"""The training budget and learning-rate schedule, chosen on each built-in scenario's TRAIN split.

For each (epochs, peak lr, decay) setting: train a LoRA adapter on the quick profile's training
items (closed book, seed 0, the quick profile's other settings), then ask it back the first 24
training items with the prompts it was trained on, scored by the scenario's own scorer: the row's
train_accuracy. Eval items are never read. A setting that keeps every scenario at train_accuracy
>= 0.8 (the matrix issue's bar for "knowledge was injected") is then checked in a whole matrix run,
where QLoRA and RAFT train with it too (bench/README.md: the quick profile gives it to RAFT only).
A setting may end with :fit=LOSS (train until the stopping rule, training.stop_reason, with that loss
threshold; EPOCHS is then the cap) or :budget (every planned step). Without either, the profile's rule.
Run: python bench/schedule.py [--scenario NAME] [--setting EPOCHS:LR:SCHEDULE[:fit=LOSS|:budget] ...] [--four-bit]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace

# the sweep behind the quick profile (bench/README.md); the previous profile was 32:2e-3:sqrt
DEFAULT_SETTINGS = ["11:8e-3:cosine", "16:3e-3:cosine", "16:4e-3:cosine", "16:5e-3:cosine", "16:8e-3:cosine",
                    "20:3e-3:cosine", "20:4e-3:cosine"]


def train_accuracy(scenario_name: str, setting: str, four_bit: bool = False, device_arg: str = "auto") -> dict[str, float]:
    import torch

    from harness.config import builtin_scenario_paths, load_scenario
    from harness.evaluate import TRAIN_SAMPLE, as_question
    from harness.generation import generate
    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.profiles import PROFILES
    from harness.prompts import closed_book
    from harness.scorers import SCORERS
    from harness.training import attach_lora, train

    epochs, lr, schedule, *stop = setting.split(":")
    prof = PROFILES["quick"]
    cfg = replace(prof.train, epochs=float(epochs), lr=float(lr), schedule=schedule)
    if stop and stop[0] == "budget":
        cfg = replace(cfg, stop="budget")
    elif stop:
        cfg = replace(cfg, stop="fit", fit_loss=float(stop[0].removeprefix("fit=")))
    sc = load_scenario(next(p for p in builtin_scenario_paths() if p.stem == scenario_name))
    items = sc.train_for("quick")
    examples = [(closed_book(sc.spec.system_prompt, t.instruction), t.response) for t in items]
    ref = resolve_model("embedded")
    tok = load_tokenizer(ref)
    device = resolve_device(device_arg)
    model = attach_lora(load_causal_lm(ref, device, four_bit=four_bit), cfg, quantized=four_bit, seed=0)
    stats = train(model, tok, examples, cfg, seed=0, device=device.device)
    scorer = SCORERS.get(sc.spec.scorer)
    asked = [as_question(t, scorer) for t in items[:TRAIN_SAMPLE]]
    with torch.inference_mode():
        answers = generate(model, tok, [m for m, _ in examples[:TRAIN_SAMPLE]], prof.max_new_tokens,
                           prof.gen_batch, no_repeat_ngram=prof.no_repeat_ngram).texts
    acc = statistics.fmean(float(scorer(a, q)["accuracy"] or 0.0) for a, q in zip(answers, asked))
    return {"steps": stats.steps, "seconds": stats.seconds, "last_loss": statistics.fmean(stats.losses[-4:]),
            "train_accuracy": acc, "epochs": stats.epochs, "stop": stats.stop}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scenario", action="append", help="default: the three built-in scenarios")
    p.add_argument("--setting", action="append", help=f"EPOCHS:LR:SCHEDULE (default: {' '.join(DEFAULT_SETTINGS)})")
    p.add_argument("--four-bit", action="store_true", help="QLoRA: the adapter on NF4 base weights")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    a = p.parse_args()
    scenarios = a.scenario or ["business_flow", "multi_fact_qa", "vertical_vocabulary"]
    print(f"{'scenario':20s} {'setting':26s} {'steps':>5s} {'epochs':>6s} {'stop':>7s} {'train s':>8s} {'loss':>6s} "
          f"{'train_acc':>9s}", flush=True)
    for setting in a.setting or DEFAULT_SETTINGS:
        for name in scenarios:
            start = time.perf_counter()
            r = train_accuracy(name, setting, a.four_bit, a.device)
            print(f"{name:20s} {setting + (' 4-bit' if a.four_bit else ''):26s} {r['steps']:5d} {r['epochs']:6.1f} "
                  f"{r['stop']:>7s} {r['seconds']:8.1f} {r['last_loss']:6.3f} {r['train_accuracy']:9.2f}   "
                  f"({time.perf_counter() - start:.0f} s with answering)", flush=True)


if __name__ == "__main__":
    main()
