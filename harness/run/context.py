"""The shared model cache of a run: tokenizer, base model, embedder, faithfulness scorer, indexes.

Loaded lazily (a run of cached cells loads nothing) and once per run: every cell of a scenario
answers with the same base model, attaching and detaching its adapter.
"""

from __future__ import annotations

import gc
from typing import Any

from harness.faithfulness import OfflineFaithfulness
from harness.judge import RagasJudge
from harness.models import DeviceInfo, ModelRef, cache_dir, embedder_path, load_causal_lm, load_tokenizer
from harness.retrieval import Embedder, HybridIndex
from harness.run.progress import Progress


class RunContext:
    """Implements `harness.cell.Context`."""

    def __init__(self, model: ModelRef, device: DeviceInfo, progress: Progress, judge: Any = None) -> None:
        self.model_ref, self.device, self.progress, self.judge = model, device, progress, judge
        self._tokenizer: Any = None
        self._base: Any = None
        self._embedder: Any = None
        self._faithfulness: Any = None
        self._indexes: dict[tuple[str, str], Any] = {}

    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = Embedder(embedder_path(), self.device.device)
        return self._embedder

    def faithfulness(self) -> Any:
        """The run's faithfulness scorer: ragas with the --judge endpoint, else the offline claim scorer."""
        if self._faithfulness is None:
            if self.judge is not None:
                self._faithfulness = RagasJudge(self.judge)
            else:
                self._faithfulness = OfflineFaithfulness(self.embedder().encode)
        return self._faithfulness

    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_ref)
        return self._tokenizer

    def base_model(self) -> Any:
        if self._base is None:
            self._base = load_causal_lm(self.model_ref, self.device)
        return self._base

    def release_base_model(self) -> None:
        self._base = None
        gc.collect()

    def index(self, scenario: str, label: str, corpus: list[Any], chunk_tokens: int, chunk_overlap: int) -> Any:
        key = (scenario, label, chunk_tokens, chunk_overlap)
        if key not in self._indexes:
            self._indexes[key] = HybridIndex(corpus, self.embedder(), chunk_tokens=chunk_tokens,
                                             chunk_overlap=chunk_overlap, cache=cache_dir() / "indexes")
        return self._indexes[key]
