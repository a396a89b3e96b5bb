"""baseline: the model as it is, closed book. What every other strategy must beat."""

from harness.cell import Strategy
from harness.strategies.base import register

BASELINE = register(Strategy("baseline", "the base model, closed book"))
