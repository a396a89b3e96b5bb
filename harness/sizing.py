"""Predicted peak GPU memory (and time) for a strategy on the model a team will deploy.

harness measures on the model it runs; a procurement reader needs the model they will buy for. The
estimate adds up, in bytes, what a decoder-only transformer holds at its peak:

- weights: 2 bytes per parameter in bf16; QLoRA stores linear layers in NF4 (4 bits, plus 0.127 bits of
  double-quantised block constants: block 64, 8-bit absmax, fp32 second level per 256 blocks) and keeps
  embeddings, the head and norms in bf16;
- LoRA: r x (in + out) per adapted linear, with fp32 weight, gradient and two AdamW moments (16 bytes);
- activations kept for backward, per token and layer, in bf16 (flash/SDPA attention, no s^2 matrix):
  6h + 2 kv + 4i values (norm inputs, q/k/v, attention output, residual, gate, up, the gated product);
  with gradient checkpointing only the layer input (h) per layer, plus one layer's activations recomputed;
- logits for the loss: tokens x vocab x 10 bytes (bf16 logits, their fp32 copy, the fp32 gradient);
- answering: weights, the KV cache (2 x layers x kv x (prompt + new tokens) x batch x 2 bytes) and one
  layer's prefill activations.

It reproduces published peaks where the settings are stated (tests/test_sizing.py names the sources);
it is an estimate, not a measurement: allocator fragmentation (reserved beyond allocated) comes on top.
"""

from __future__ import annotations

import json
import math
from typing import Any
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

GB = 1e9
NF4_BITS = 4 + 0.127
HEADROOM = 1.1  # a card holds a prediction with 10% to spare: the allocator's reserve and the CUDA context


@dataclass(frozen=True)
class Arch:
    """What memory depends on in a decoder-only transformer (a HF config.json holds all of it)."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    tied: bool = False
    head_dim: int | None = None

    @property
    def hd(self) -> int:
        return self.head_dim or self.hidden // self.heads

    @property
    def kv(self) -> int:
        """Width of the key (or value) projection."""
        return self.kv_heads * self.hd

    def linears(self) -> list[tuple[int, int]]:
        """(in, out) of every linear layer in one block: q, k, v, o, gate, up, down."""
        h, i = self.hidden, self.intermediate
        return [(h, self.heads * self.hd), (h, self.kv), (h, self.kv), (self.heads * self.hd, h),
                (h, i), (h, i), (i, h)]

    def linear_params(self) -> int:
        return self.layers * sum(a * b for a, b in self.linears())

    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    def params(self) -> int:
        return self.linear_params() + self.embedding_params() + self.hidden * (2 * self.layers + 1)


# Published configs (config.json on the Hugging Face hub of each model).
KNOWN: dict[str, Arch] = {a.name: a for a in (
    Arch("phi-3-mini", 3072, 32, 32, 32, 8192, 32064),
    Arch("phi-3-small", 4096, 32, 32, 8, 14336, 100352),
    Arch("phi-3-medium", 5120, 40, 40, 10, 17920, 32064),
    Arch("llama-3.2-1b", 2048, 16, 32, 8, 8192, 128256, tied=True, head_dim=64),
    Arch("llama-3.1-8b", 4096, 32, 32, 8, 14336, 128256),
    Arch("llama-3.1-70b", 8192, 80, 64, 8, 28672, 128256),
    Arch("llama-2-7b", 4096, 32, 32, 32, 11008, 32000),
    Arch("llama-2-13b", 5120, 40, 40, 40, 13824, 32000),
    Arch("llama-65b", 8192, 80, 64, 64, 22016, 32000),
    Arch("tinyllama-1.1b", 2048, 22, 32, 4, 5632, 32000),
    Arch("smollm2-135m", 576, 30, 9, 3, 1536, 49152, tied=True),
)}
METHODS = ("lora", "qlora", "rag")


def arch_from(name_or_path: str) -> Arch:
    """A known name (case-insensitive), or a local HF config.json (or the folder that holds one)."""
    key = name_or_path.lower()
    if key in KNOWN:
        return KNOWN[key]
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise HarnessError(f"--target-model {name_or_path}: not a known model ({', '.join(KNOWN)}) "
                           "nor a config.json or a folder holding one")
    try:
        return arch_of(json.loads(path.read_text(encoding="utf-8")), path.parent.name or "model")
    except (ValueError, KeyError, TypeError) as exc:
        raise HarnessError(f"{path}: not a usable model config ({type(exc).__name__}: {exc})") from None


def arch_of(config: Any, name: str = "model") -> Arch:
    """The Arch of a config.json's contents, or of a loaded model's transformers config."""
    c = config if isinstance(config, dict) else config.to_dict()
    return Arch(name, c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                c.get("num_key_value_heads") or c["num_attention_heads"], c["intermediate_size"],
                c["vocab_size"], bool(c.get("tie_word_embeddings", False)), c.get("head_dim"))


@dataclass(frozen=True)
class Setting:
    method: str = "lora"  # lora | qlora | rag (answering only)
    seq: int = 512  # training: tokens per example; rag: prompt tokens
    batch: int = 4
    rank: int = 16
    adapted: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # which of Arch.linears() carry LoRA (all-linear)
    checkpointing: bool = False
    new_tokens: int = 96  # rag: answer length
    dropout: bool = False  # LoRA dropout keeps a dropped copy of each adapted input (bf16) and its mask (1 byte)
    fused_qkv: bool = False  # q, k and v in one linear (litgpt, Phi-3): one dropped input copy for the three
    chunked_loss: bool = False  # the loss upcasts chunk by chunk (torchtune): only the bf16 logits stay whole


@dataclass(frozen=True)
class Estimate:
    parts: dict[str, float]  # bytes per component

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def gb(self) -> float:
        return self.total / GB


def predict(arch: Arch, s: Setting) -> Estimate:
    if s.method not in METHODS:
        raise HarnessError(f"--method {s.method}: unknown (known: {', '.join(METHODS)})")
    h, i, T = arch.hidden, arch.intermediate, s.batch * s.seq
    other = arch.params() - arch.linear_params()
    if s.method == "qlora":
        weights = arch.linear_params() * NF4_BITS / 8 + other * 2
    else:
        weights = arch.params() * 2.0
    parts = {"weights": weights}
    if s.method == "rag":
        tokens = s.batch * (s.seq + s.new_tokens)
        parts["kv_cache"] = 2 * arch.layers * arch.kv * tokens * 2.0
        parts["activations"] = s.batch * s.seq * (2 * h + 2 * i) * 2.0  # one layer's prefill at a time
        parts["logits"] = s.batch * arch.vocab * 4.0  # generate() computes the last position's only
        return Estimate(parts)
    lin = arch.linears()
    lora = arch.layers * sum(s.rank * (lin[j][0] + lin[j][1]) for j in s.adapted)
    parts["lora_and_optimizer"] = lora * 16.0
    per_layer = 6 * h + 2 * arch.kv + 4 * i + s.rank * len(s.adapted)
    if s.dropout:
        inputs = [lin[j][0] for j in s.adapted if not (s.fused_qkv and j in (1, 2) and 0 in s.adapted)]
        per_layer += sum(inputs) * 1.5  # 2 bytes of dropped copy + 1 byte of mask, in 2-byte units
    if s.checkpointing:
        parts["activations"] = T * (arch.layers * h + per_layer) * 2.0
    else:
        parts["activations"] = T * arch.layers * per_layer * 2.0
    parts["logits"] = T * arch.vocab * (2.0 if s.chunked_loss else 10.0)
    if s.method == "qlora":
        parts["dequantised_layer"] = max(a * b for a, b in lin) * 2.0 * 2  # the widest linear, forward + backward
    return Estimate(parts)


def train_seconds(arch: Arch, s: Setting, tokens: int, measured_tokens_per_s: float, measured_params: int) -> float:
    """Training time scaled from a measured throughput by compute: a LoRA step costs about 4 x params
    FLOPs per token (forward, and backward to the inputs; frozen weights get no gradient), 6 x with
    checkpointing (a second forward). Same device assumed, and the same utilisation."""
    flops_per_s = measured_tokens_per_s * 4 * measured_params
    per_token = (6 if s.checkpointing else 4) * arch.params()
    return tokens * per_token / flops_per_s


def table(arch: Arch, s: Setting) -> str:
    est = predict(arch, s)
    lines = [f"{arch.name} ({arch.params() / 1e9:.2f} B parameters), {s.method}, "
             + (f"prompt {s.seq} + {s.new_tokens} new tokens" if s.method == "rag" else
                f"sequence {s.seq}, batch {s.batch}, rank {s.rank}, checkpointing {'on' if s.checkpointing else 'off'}")]
    for k, v in est.parts.items():
        lines.append(f"  {k:<20} {v / GB:8.2f} GB")
    lines.append(f"  {'predicted peak':<20} {est.gb():8.2f} GB (allocated; the allocator reserves more)")
    return "\n".join(lines)


# common GPU memory classes, smallest first: the project's one card-fit rule (gpu_for) reads these
GPU_CARDS = ((8, "an 8 GB card (RTX 4060)"), (16, "a 16 GB card (T4, V100-16GB)"),
             (24, "a 24 GB card (L4, RTX 4090, A10G)"), (48, "a 48 GB card (L40S, A6000)"),
             (80, "an 80 GB card (A100/H100 80GB)"), (141, "a 141 GB card (H200)"))


def gpu_for(gb: float) -> str:
    """The smallest common card that holds `gb` (predicted or measured) with HEADROOM to spare."""
    for size, name in GPU_CARDS:
        if gb * HEADROOM <= size:
            return name
    return f"{math.ceil(gb * HEADROOM / 80)} x 80 GB cards (sharded)"
