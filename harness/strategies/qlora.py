"""qlora: LoRA on NF4 4-bit base weights (double quantisation); the adapter stays unmerged,
because merging into 4-bit weights changes outputs (measured: max |dlogit| 0.97 on a tiny model)."""

from harness.cell import Strategy
from harness.strategies.base import register

QLORA = register(Strategy("qlora", "LoRA adapter on 4-bit NF4 base weights, closed book", train=True, four_bit=True))
