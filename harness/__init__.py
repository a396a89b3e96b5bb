"""harness: measure RAG, LoRA, QLoRA and hybrids on your own scenarios, and recommend one."""

__version__ = "0.1.0"
