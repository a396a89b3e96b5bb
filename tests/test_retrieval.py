"""Retrieval: codes survive tokenisation, and the fused index finds the right near-identical code."""

from __future__ import annotations

from harness.data import Document
from harness.models import embedder_path
import pytest

from harness.config import builtin_scenario_paths, load_scenario
from harness.retrieval import Embedder, HybridIndex, Lexical, chunk_corpus, lexical_tokens
from reference_bm25 import ReferenceBM25


def test_codes_match_across_spellings() -> None:
    assert "p120" in lexical_tokens("the KV-P120 pump")
    assert "p120" in lexical_tokens("pump P-120")
    assert "p120" in lexical_tokens("pump P120")


def test_bm25_prefers_the_exact_code() -> None:
    texts = ["Pump P-140 bolts: 45 Nm.", "Pump P-120 bolts: 30 Nm.", "Canteen opens at 07:30."]
    scores = Lexical(texts).scores("torque for the P120")
    assert max(range(3), key=lambda i: scores[i]) == 1
    assert scores[2] == 0


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(embedder_path())


def test_long_documents_are_chunked_by_tokens_with_overlap(embedder: Embedder) -> None:
    text = " ".join(f"word{i}" for i in range(250))
    n_tokens = len(embedder.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert n_tokens == 678  # windows start at tokens 0, 160, 320, 480: the last one reaches the end
    doc = Document(id="D", title="T", text=text)
    chunks = chunk_corpus([doc], embedder.tokenizer, chunk_tokens=200, overlap=40)
    assert [c.id for c in chunks] == ["D#0", "D#1", "D#2", "D#3"] and all(c.doc_id == "D" for c in chunks)
    bodies = [c.text.removeprefix("T: ") for c in chunks]
    assert all(len(embedder.tokenizer(b, add_special_tokens=False)["input_ids"]) <= 200 for b in bodies)
    assert bodies[0].startswith("word0 ") and bodies[-1].endswith("word249")
    # consecutive windows share their overlap: the last 40 tokens of one open the next
    starts = [text.index(b) for b in bodies]  # each window is a piece of the original text
    assert all(s0 < s1 < s0 + len(b0) for s0, s1, b0 in zip(starts, starts[1:], bodies))
    # a short document stays one chunk, as every built-in document does (the longest has 64 tokens)
    assert [c.id for c in chunk_corpus([doc], embedder.tokenizer, chunk_tokens=1000)] == ["D"]


def test_bm25s_ranks_the_builtin_corpora_as_the_hand_written_bm25_did() -> None:
    """Every eval question of the built-in scenarios (quick and full), against its corpus: the same chunks with
    a positive score, in the same order (ties: corpus order in both)."""
    compared = 0
    for path in builtin_scenario_paths():
        sc = load_scenario(path)
        for corpus, items in ((sc.corpus, sc.eval), (sc.corpus_update or [], sc.eval_update or [])):
            texts = [f"{d.title}: {d.text}" for d in corpus]
            if not texts:
                continue
            ref, new = ReferenceBM25(texts), Lexical(texts)
            for item in items:
                want = ref.ranking(item.question)
                assert new.top(item.question, len(texts)) == want, (sc.name, item.id)
                assert new.top(item.question, 8) == want[:8]
                compared += 1
    assert compared > 400


def test_hybrid_index_separates_near_identical_codes() -> None:
    docs = [Document(id=f"D{c}", title=f"Field note KV-P{c}", text=f"On the P-{c} pump tighten the valve insert to {t} Nm.")
            for c, t in ((120, 30), (140, 45), (210, 60), (230, 75))]
    index = HybridIndex(docs, Embedder(embedder_path()))
    for c in (120, 140, 210, 230):
        top = index.search_many([f"What torque for the valve core on the P{c}?"], k=1)[0]
        assert top[0].chunk.doc_id == f"D{c}"
    assert index.build_seconds > 0 and index.size_mb > 0


def test_a_large_corpus_is_embedded_in_bf16_where_the_device_computes_it(monkeypatch: pytest.MonkeyPatch,
                                                                        embedder: Embedder, tmp_path) -> None:
    import faiss
    import numpy as np

    from harness import retrieval

    docs = [Document(id=f"D{c}", title=f"Field note KV-P{c}", text=f"On the P-{c} pump tighten the valve insert to {t} Nm.")
            for c, t in ((120, 30), (140, 45), (210, 60), (230, 75))]
    small = HybridIndex(docs, embedder, cache=tmp_path)
    assert small.precision == "fp32" and isinstance(small.index, faiss.IndexFlatIP)
    monkeypatch.setattr(retrieval, "EXACT_BELOW", 4)  # these four chunks now count as a large corpus
    monkeypatch.setattr(Embedder, "bf16_fast", lambda self: False)
    assert HybridIndex(docs, embedder).precision == "fp32"  # emulated bf16 would be slower: fp32 stays
    monkeypatch.setattr(Embedder, "bf16_fast", lambda self: True)
    threads = faiss.omp_get_max_threads()
    large = HybridIndex(docs, embedder, cache=tmp_path)
    assert large.precision == "bf16" and isinstance(large.index, faiss.IndexHNSWFlat)
    assert len(list(tmp_path.iterdir())) == 2  # the precision is part of the index's cache key
    for c in (120, 140, 210, 230):
        assert large.search_many([f"What torque for the valve core on the P{c}?"], k=1)[0][0].chunk.doc_id == f"D{c}"
    assert faiss.omp_get_max_threads() == threads  # a single query searches on one thread, then restores
    vectors = large.index.reconstruct_n(0, 4)
    fp32 = embedder.encode([c.text for c in large.chunks])
    cos = (vectors * fp32).sum(axis=1)
    assert not np.array_equal(vectors, fp32) and cos.min() > 0.999
