"""A team's constraints on the choice: budgets, how often its data changes, citations, and the weights.

Declared once here; the CLI's flags, the app's Constraints page and the recommender all read these.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_CHANGES = ("never", "monthly", "weekly", "daily")
# share of the score taken by accuracy on changed data: how much of its life a model answers about data
# that changed since it was built (retrained monthly against daily changes: almost always)
STALENESS = {"never": 0.0, "monthly": 0.25, "weekly": 0.5, "daily": 1.0}
CITATIONS = ("optional", "required")  # required: answers must come with their sources
# --weights names -> how much each counts in the score
DEFAULT_WEIGHTS = {"accuracy": 1.0, "faithfulness": 0.25, "cost": 0.05}


@dataclass(frozen=True)
class Constraints:
    memory_gb: float | None = None
    gpu_memory: bool = False  # the budget is GPU VRAM: only CUDA-measured peaks are comparable to it
    data_changes: str = "never"
    citations: str = "optional"
    train_hours: float | None = None
    latency_s: float | None = None
    w_accuracy: float = DEFAULT_WEIGHTS["accuracy"]
    w_faithfulness: float = DEFAULT_WEIGHTS["faithfulness"]
    w_cost: float = DEFAULT_WEIGHTS["cost"]

    def __post_init__(self) -> None:
        if self.data_changes not in DATA_CHANGES:
            raise ValueError(f"data_changes must be one of {', '.join(DATA_CHANGES)}")
        if self.citations not in CITATIONS:
            raise ValueError(f"citations must be one of {', '.join(CITATIONS)}")

    def describe(self) -> str:
        parts = [f"memory <= {self.memory_gb:g} GB{' GPU' if self.gpu_memory else ''}" if self.memory_gb else
                 "no memory budget",
                 f"data changes {self.data_changes}", f"citations {self.citations}"]
        if self.train_hours is not None:
            parts.append(f"training <= {self.train_hours:g} h")
        if self.latency_s is not None:
            parts.append(f"<= {self.latency_s:g} s per answer")
        return ", ".join(parts)


def weights_text(weights: dict[str, float] = DEFAULT_WEIGHTS) -> str:
    """The --weights syntax, e.g. accuracy=1,faithfulness=0.25,cost=0.05."""
    return ",".join(f"{k}={v:g}" for k, v in weights.items())
