"""Retrieval quality against the gold documents: hit@k, gold recall@k and ragas' non-LLM context metrics.

ragas' NonLLMContextRecall / NonLLMContextPrecisionWithReference compare retrieved passages with the
reference passages by string similarity (Levenshtein, threshold 0.5), so they run offline in
milliseconds; hit@k and gold recall@k compare document ids exactly. hit@k counts an item whose gold
documents were found in part (one of two): only gold recall@k says whether retrieval found all of them.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any


@functools.cache
def _metrics() -> tuple[Any, Any, Any]:
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    from ragas import SingleTurnSample
    from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

    return SingleTurnSample, NonLLMContextRecall(), NonLLMContextPrecisionWithReference()


def hit_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int) -> float:
    """1 when any gold document is among the first k retrieved, else 0."""
    top = set(retrieved_doc_ids[:k])
    return float(any(g in top for g in gold_doc_ids))


def gold_recall_at_k(retrieved_doc_ids: Sequence[str], gold_doc_ids: Sequence[str], k: int) -> float:
    """The share of an item's gold documents among the first k retrieved (a two-document question with one
    found: 0.5)."""
    gold = set(gold_doc_ids)
    return len(gold & set(retrieved_doc_ids[:k])) / len(gold) if gold else float("nan")


def retrieval_scores(retrieved_doc_ids: Sequence[str], retrieved_texts: Sequence[str], gold_doc_ids: Sequence[str],
                     gold_texts: Sequence[str], k: int) -> dict[str, float]:
    """hit_at_k, context_recall (share of gold passages retrieved) and context_precision (rank-weighted
    share of retrieved passages that match a gold one), for one question."""
    sample_cls, recall, precision = _metrics()
    sample = sample_cls(retrieved_contexts=list(retrieved_texts), reference_contexts=list(gold_texts))
    return {
        "hit_at_k": hit_at_k(retrieved_doc_ids, gold_doc_ids, k),
        "gold_recall_at_k": gold_recall_at_k(retrieved_doc_ids, gold_doc_ids, k),
        "context_recall": float(recall.single_turn_score(sample)),
        "context_precision": float(precision.single_turn_score(sample)),
    }
