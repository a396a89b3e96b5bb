"""What a scorer is: a name, the eval-item fields it needs, and a function answer -> scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.data import EvalItem
from harness.metrics import METRICS
from harness.registry import Registry

ScoreFn = Callable[[str, EvalItem], dict[str, float]]


@dataclass(frozen=True)
class Scorer:
    name: str
    # eval-item fields that must be non-empty for this scorer; scenario validation checks them
    requires: tuple[str, ...]
    score: ScoreFn
    description: str
    # the per-item scores it returns, each a metric of the table (harness.metrics); 'accuracy' first
    metrics: tuple[str, ...] = ("accuracy",)

    def __call__(self, answer: str, item: EvalItem) -> dict[str, float]:
        """Scores for one answer; 'accuracy' is always present and is the headline (0 or 1 per item)."""
        out = self.score(answer, item)
        if not set(out) <= set(self.metrics):
            raise ValueError(f"scorer {self.name} returned {sorted(set(out) - set(self.metrics))}, not among its "
                             f"declared metrics {self.metrics}")
        return out


SCORERS: Registry[Scorer] = Registry("scorer")


def scorer(name: str, requires: tuple[str, ...] = (), metrics: tuple[str, ...] = ("accuracy",),
           description: str = "") -> Callable[[ScoreFn], ScoreFn]:
    """Register a score function under `name`; every metric it returns must be declared in the metric table."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown or metrics[:1] != ("accuracy",):
        raise ValueError(f"scorer {name}: metrics must start with 'accuracy' and be declared in harness.metrics "
                         f"(undeclared: {', '.join(unknown) or 'none'})")

    def deco(fn: ScoreFn) -> ScoreFn:
        SCORERS.register(name)(Scorer(name, requires, fn, description or (fn.__doc__ or "").strip(), metrics))
        return fn

    return deco
