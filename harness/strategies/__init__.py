"""Strategy registry. A new strategy is one module here plus its import line below."""

from harness.strategies import baseline, hybrid, lora, qlora, rag, raft  # noqa: F401  (register)
from harness.cell import CellSkipped, Strategy
from harness.strategies.base import STRATEGIES

__all__ = ["STRATEGIES", "CellSkipped", "Strategy"]
