"""hybrid: RAG answered by the lora cell's adapter (reused, not retrained; its training cost counts)."""

from harness.cell import Strategy
from harness.strategies.base import register

HYBRID = register(Strategy("hybrid", "retrieval + the lora cell's adapter", retrieval=True, reuse_adapter_of="lora"))
