"""What a scorer is: a name, the eval-item fields it needs, and a function answer -> scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.data import EvalItem
from harness.registry import Registry

ScoreFn = Callable[[str, EvalItem], dict[str, float]]


@dataclass(frozen=True)
class Scorer:
    name: str
    # eval-item fields that must be non-empty for this scorer; scenario validation checks them
    requires: tuple[str, ...]
    score: ScoreFn
    description: str

    def __call__(self, answer: str, item: EvalItem) -> dict[str, float]:
        """Scores for one answer; 'accuracy' is always present and is the headline (0 or 1 per item)."""
        return self.score(answer, item)


SCORERS: Registry[Scorer] = Registry("scorer")


def scorer(name: str, requires: tuple[str, ...] = (), description: str = "") -> Callable[[ScoreFn], ScoreFn]:
    """Register a score function under `name`."""

    def deco(fn: ScoreFn) -> ScoreFn:
        SCORERS.register(name)(Scorer(name, requires, fn, description or (fn.__doc__ or "").strip()))
        return fn

    return deco
