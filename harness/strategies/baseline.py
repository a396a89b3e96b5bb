"""baseline: the model as it is, closed book. What every other strategy must beat."""

from harness.strategies.base import Strategy, register

BASELINE = register(Strategy("baseline", "the base model, closed book"))
