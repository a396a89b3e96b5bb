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
        self._parked = False
        self._embedder: Any = None
        self._faithfulness: Any = None
        self._checker: Any = None
        self._indexes: dict[tuple[str, str], Any] = {}

    def embedder(self) -> Any:
        if self._embedder is None:
            self._embedder = Embedder(embedder_path(), self.device.device)
        return self._embedder

    def faithfulness(self) -> Any:
        """The run's faithfulness scorer: ragas with the --judge endpoint, else the offline claim scorer."""
        if self._faithfulness is None:
            self._faithfulness = RagasJudge(self.judge) if self.judge is not None else self.claim_checker()
        return self._faithfulness

    def claim_checker(self) -> OfflineFaithfulness:
        """The offline claim checker (citation precision asks it what one passage supports, judge or not)."""
        if self._checker is None:
            self._checker = OfflineFaithfulness(self.embedder().encode)
        return self._checker

    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer(self.model_ref)
        return self._tokenizer

    def base_model(self) -> Any:
        if self._base is None:
            self._base = load_causal_lm(self.model_ref, self.device)
        elif self._parked:
            self._base.to(self.device.device)  # back from the CPU: seconds, where a reload from disk takes longer
            self._parked = False
        return self._base

    def release_base_model(self) -> None:
        self._base = None
        self._parked = False
        gc.collect()

    def park_base_model(self) -> None:
        """Off the device while a cell that brings its own weights (QLoRA's 4-bit copy) runs, so its measured
        peak is its own: on CUDA the shared model waits in CPU memory and comes back without a reload; on a CPU
        there is nowhere else to put it, and it is released."""
        if self._base is None or self.device.device != "cuda":
            self.release_base_model()
            return
        import torch

        self._base.to("cpu")
        self._parked = True
        torch.cuda.empty_cache()

    def index(self, scenario: str, label: str, corpus: list[Any], chunk_tokens: int, chunk_overlap: int) -> Any:
        key = (scenario, label, chunk_tokens, chunk_overlap)
        if key not in self._indexes:
            self._indexes[key] = HybridIndex(corpus, self.embedder(), chunk_tokens=chunk_tokens,
                                             chunk_overlap=chunk_overlap, cache=cache_dir() / "indexes")
        return self._indexes[key]
