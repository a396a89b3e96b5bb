"""rag: retrieve top-k passages (dense + BM25 fused) and answer from them, sources listed by id."""

from harness.cell import Strategy
from harness.strategies.base import register

RAG = register(Strategy("rag", "base model answering from retrieved passages", retrieval=True))
