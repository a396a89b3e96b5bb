"""lora: a LoRA adapter trained on the scenario's train set, then answering closed book."""

from harness.cell import Strategy
from harness.strategies.base import register

LORA = register(Strategy("lora", "LoRA adapter on full-precision base weights, closed book", train=True))
