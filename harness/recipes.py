"""Training settings that fit the model under test: the learning rate by model size, from published recipes.

The profiles' learning rates (2e-3 for LoRA and QLoRA, 4e-3 for RAFT in `quick`) were chosen on the train
splits for the embedded 135M model (bench/schedule.py). A 3.8B or 8B model trained at 2e-3 is likely to
diverge or overfit, and the verdict would then blame the strategy. From 1B parameters up, every strategy
trains at the rate the published LoRA recipes for that size use; the rate and its source are recorded in
the manifest (profile.train.lr_source) and in every trained row's train_budget.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.profiles import RunProfile


@dataclass(frozen=True)
class Recipe:
    below: float  # for models with fewer parameters than this
    lr: float | None  # None: the profile's own
    source: str


RECIPES = (
    Recipe(1e9, None, "the profile's own, chosen on the train splits for the embedded 135M model (bench/schedule.py)"),
    # AdamW lr 2e-4, LoRA r 32, cosine after 10 warm-up steps
    Recipe(2.5e9, 2e-4, "litgpt config_hub/finetune/llama-3.2-1B/lora.yaml (lr 2e-4)"),
    # AdamW lr 3e-4, LoRA r 8 alpha 16 on attention and MLP, cosine with warm-up
    Recipe(5e9, 3e-4, "torchtune recipes/configs/phi3/mini_lora_single_device.yaml (lr 3e-4); litgpt "
                      "config_hub/finetune/phi-3/lora.yaml uses 2e-4"),
    Recipe(float("inf"), 3e-4, "torchtune recipes/configs/llama3/8B_lora_single_device.yaml (lr 3e-4)"),
)


def recipe_for(params: float) -> Recipe:
    return next(r for r in RECIPES if params < r.below)


def model_params(model_path: str) -> float | None:
    """Parameters of a local model folder, from its config.json (None for a hub id not on disk)."""
    from harness.errors import HarnessError
    from harness.sizing import arch_from

    if not (Path(model_path) / "config.json").is_file():
        return None
    try:
        return float(arch_from(model_path).params())
    except HarnessError:
        return None


def fit_to_model(profile: RunProfile, params: float | None) -> RunProfile:
    """The profile with every strategy's learning rate from the recipe for this model size (unchanged below
    1B parameters, or when the size is unknown)."""
    if params is None:
        return profile
    r = recipe_for(params)
    if r.lr is None:
        return profile
    return profile.with_train(lr=r.lr, lr_source=f"{r.source}, for a {params / 1e9:.1f}B model")
