"""A team's constraints on the choice: budgets, how often its data changes, citations, weights and margin.

Declared once here; the CLI's flags, the app's Constraints page and the recommender all read these.
"""

from __future__ import annotations

from dataclasses import dataclass

DATA_CHANGES = ("never", "monthly", "weekly", "daily")
# share of the score taken by accuracy on changed data: how much of its life a model answers about data
# that changed since it was built (retrained monthly against daily changes: almost always)
STALENESS = {"never": 0.0, "monthly": 0.25, "weekly": 0.5, "daily": 1.0}
CITATIONS = ("optional", "required")  # required: answers must cite their sources, measured (min_citation_rate)
DEFAULT_MIN_CITATION_RATE = 0.8  # with citations required: the share of answers that must cite a source shown
# --weights names -> how much each counts in the decision score (harness.recommend.endpoint). Cost is no
# weight: it only chooses among strategies shown as good as the leader within the margin
DEFAULT_WEIGHTS = {"accuracy": 1.0, "faithfulness": 0.25}
DEFAULT_MARGIN = 0.05  # points of the decision score a buyer gives up for a cheaper strategy (--margin)


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
    margin: float = DEFAULT_MARGIN
    min_citation_rate: float = DEFAULT_MIN_CITATION_RATE

    def __post_init__(self) -> None:
        if self.data_changes not in DATA_CHANGES:
            raise ValueError(f"data_changes must be one of {', '.join(DATA_CHANGES)}")
        if self.citations not in CITATIONS:
            raise ValueError(f"citations must be one of {', '.join(CITATIONS)}")
        if not 0 <= self.margin < 1:
            raise ValueError("margin must be at least 0 and below 1")

    def describe(self) -> str:
        parts = [f"memory <= {self.memory_gb:g} GB{' GPU' if self.gpu_memory else ''}" if self.memory_gb else
                 "no memory budget",
                 f"data changes {self.data_changes}", f"citations {self.citations}"
                 + (f" (at least {self.min_citation_rate:g} of answers citing)" if self.citations == "required" else "")]
        if self.train_hours is not None:
            parts.append(f"training <= {self.train_hours:g} h")
        if self.latency_s is not None:
            parts.append(f"a request's wait <= {self.latency_s:g} s (p95)")
        parts.append(f"margin {self.margin:g}")
        return ", ".join(parts)


def weights_text(weights: dict[str, float] = DEFAULT_WEIGHTS) -> str:
    """The --weights syntax, e.g. accuracy=1,faithfulness=0.25."""
    return ",".join(f"{k}={v:g}" for k, v in weights.items())
