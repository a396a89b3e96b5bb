"""Retrieval: codes survive tokenisation, and the fused index finds the right near-identical code."""

from __future__ import annotations

from harness.data import Document
from harness.models import embedder_path
from harness.retrieval import BM25, Embedder, HybridIndex, chunk_corpus, lexical_tokens


def test_codes_match_across_spellings() -> None:
    assert "p120" in lexical_tokens("the KV-P120 pump")
    assert "p120" in lexical_tokens("pump P-120")
    assert "p120" in lexical_tokens("pump P120")


def test_bm25_prefers_the_exact_code() -> None:
    texts = ["Pump P-140 bolts: 45 Nm.", "Pump P-120 bolts: 30 Nm.", "Canteen opens at 07:30."]
    scores = BM25(texts).scores("torque for the P120")
    assert max(range(3), key=lambda i: scores[i]) == 1
    assert scores[2] == 0


def test_long_documents_are_chunked() -> None:
    doc = Document(id="D", title="T", text=" ".join(f"w{i}" for i in range(250)))
    chunks = chunk_corpus([doc], max_words=120)
    assert [c.id for c in chunks] == ["D#0", "D#1", "D#2"] and all(c.doc_id == "D" for c in chunks)


def test_hybrid_index_separates_near_identical_codes() -> None:
    docs = [Document(id=f"D{c}", title=f"Field note KV-P{c}", text=f"On the P-{c} pump tighten the valve insert to {t} Nm.")
            for c, t in ((120, 30), (140, 45), (210, 60), (230, 75))]
    index = HybridIndex(docs, Embedder(embedder_path()))
    for c in (120, 140, 210, 230):
        top = index.search_many([f"What torque for the valve core on the P{c}?"], k=1)[0]
        assert top[0].chunk.doc_id == f"D{c}"
    assert index.build_seconds > 0 and index.size_mb > 0
