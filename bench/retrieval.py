"""Retrieval at 1,000 / 10,000 / 100,000 chunks: index build time, query latency (p50, p95), memory, and
the dense recall@k the approximate index keeps against exact search.

  python bench/retrieval.py [--sizes 1000,10000,100000] [--queries 200]
  python bench/retrieval.py --dense-only --sizes 100000,1000000   # faiss alone: flat vs HNSW search time
  python bench/retrieval.py --precision --sizes 3000               # the embedder: fp32 vs bf16 speed and rankings

--precision encodes the same chunks in fp32 and in bf16 (as a corpus from EXACT_BELOW chunks on is, where the
device computes bf16 natively): chunks/s of each, and how many of fp32's exact top 4 the bf16 vectors keep,
for the bench's questions and for second-hop queries (question + passage).

--dense-only times faiss search by itself on random unit vectors (384-d, MiniLM's size; search time
does not depend on what the vectors mean, recall does: the recall column there is for random vectors).

The corpus is synthetic field notes (about 50 words each, one chunk per note; a part code, a supplier, a
torque and a lead time per note, drawn from a seeded generator): realistic enough for BM25's vocabulary
and MiniLM's cost per chunk. A query is the full harness search: 2 hops, top 4, dense + BM25 merged.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORDS = ("pump valve seal impeller bearing housing inlet outlet flange gasket motor shaft coupling sensor "
         "pressure flow rate torque bolt insert spring casing filter strainer nozzle manifold bracket").split()
SUPPLIERS = ["Varga", "Osei", "Lindqvist", "Moreau", "Tanaka", "Okafor", "Novak", "Haddad", "Silva", "Keller"]


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def corpus(n: int, seed: int = 0) -> list:
    from harness.data import Document

    rnd = random.Random(seed)
    docs = []
    for i in range(n):
        code = f"P-{i:06d}"
        filler = " ".join(rnd.choice(WORDS) for _ in range(34))
        docs.append(Document(id=code, title=f"Field note {code}",
                             text=f"On the {code} unit supplied by {rnd.choice(SUPPLIERS)} tighten the "
                                  f"{rnd.choice(WORDS)} to {rnd.randint(10, 90)} Nm; lead time {rnd.randint(2, 30)} "
                                  f"days. {filler}."))
    return docs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dense-only", action="store_true")
    ap.add_argument("--precision", action="store_true")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="auto: the GPU where there is one, else the CPU")
    args = ap.parse_args()
    from harness.models import resolve_device

    device = resolve_device(args.device).device
    import faiss
    import numpy as np

    if args.dense_only:
        dense_only([int(s) for s in args.sizes.split(",")], args.queries)
        return
    if args.precision:
        precision([int(s) for s in args.sizes.split(",")], args.queries, device)
        return

    from harness.models import embedder_path
    from harness.retrieval import EXACT_BELOW, Embedder, HybridIndex

    embedder = Embedder(embedder_path(), device)
    embedder.encode(["warm up"])
    print(f"exact search below {EXACT_BELOW} chunks, HNSW above; faiss threads {faiss.omp_get_max_threads()}")
    print("chunks | build s (embed+index+bm25) | chunks/s | query p50 ms | p95 ms | RSS +MB | dense index | precision "
          "| recall@4 vs exact")
    for n in [int(s) for s in args.sizes.split(",")]:
        docs = corpus(n)
        queries = questions(docs, args.queries)
        before = rss_mb()
        t0 = time.perf_counter()
        index = HybridIndex(docs, embedder)  # no cache: a cold build
        build = time.perf_counter() - t0
        grown = rss_mb() - before
        lat = []
        for q in queries:
            t = time.perf_counter()
            index.search_many([q], k=4)
            lat.append((time.perf_counter() - t) * 1000)
        lat.sort()
        p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
        kind = type(index.index).__name__
        recall = "exact (1.00)"
        if kind != "IndexFlatIP":  # the approximate index against a flat scan of the same vectors
            vecs = index.index.reconstruct_n(0, index.index.ntotal) if hasattr(index.index, "reconstruct_n") else None
            flat = faiss.IndexFlatIP(vecs.shape[1])
            flat.add(vecs)
            qv = embedder.encode(queries, index.precision)
            _, exact = flat.search(qv, 4)
            _, approx = index.index.search(qv, 4)
            r = np.mean([len(set(a) & set(e)) / 4 for a, e in zip(approx, exact)])
            recall = f"{r:.3f}"
        print(f"{n:>7,} | {build:8.1f} | {n / build:8.0f} | {p50:8.1f} | {p95:8.1f} | {grown:7.0f} | {kind} | "
              f"{index.precision} | {recall}", flush=True)


def questions(docs: list, n: int) -> list[str]:
    rnd = random.Random(1)
    targets = [rnd.randrange(len(docs)) for _ in range(n)]
    return [f"What torque for the {docs[t].id.replace('P-', 'P')} {rnd.choice(WORDS)}?" for t in targets]


def precision(sizes: list[int], n_queries: int, device: str = "cpu") -> None:
    import numpy as np

    from harness.models import embedder_path
    from harness.retrieval import Embedder, passage

    embedder = Embedder(embedder_path(), device)
    print(f"bf16 computed natively here: {embedder.bf16_fast()}")
    print("chunks | fp32 chunks/s | bf16 chunks/s | speed-up | bf16 keeps of fp32's top 4: questions | 2nd-hop queries")
    for n in sizes:
        docs = corpus(n)
        texts = [passage(d) for d in docs]
        qs = questions(docs, n_queries)
        second = [f"{q} {texts[i % n]}" for i, q in enumerate(qs)]
        rates, tops = {}, {}
        for p in ("fp32", "bf16"):
            embedder.encode(texts[:64], p)  # warm
            t = time.perf_counter()
            vectors = embedder.encode(texts, p)
            rates[p] = n / (time.perf_counter() - t)
            scores = embedder.encode(qs + second, p) @ vectors.T
            tops[p] = np.argsort(-scores, axis=1)[:, :4]
        kept = [len(set(a) & set(b)) / 4 for a, b in zip(tops["bf16"], tops["fp32"])]
        print(f"{n:>7,} | {rates['fp32']:6.1f} | {rates['bf16']:6.1f} | {rates['bf16'] / rates['fp32']:.2f}x | "
              f"{np.mean(kept[:len(qs)]):.3f} | {np.mean(kept[len(qs):]):.3f}", flush=True)


def dense_only(sizes: list[int], n_queries: int) -> None:
    import faiss
    import numpy as np

    from harness.retrieval import HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH, HNSW_M

    rng = np.random.default_rng(0)
    print("chunks | flat search p50/p95 ms | HNSW build s | HNSW search p50/p95 ms | HNSW recall@8 (random vectors)")
    for n in sizes:
        vecs = rng.standard_normal((n, 384), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        queries = vecs[rng.choice(n, n_queries, replace=False)] + 0.05 * rng.standard_normal((n_queries, 384),
                                                                                              dtype=np.float32)
        flat = faiss.IndexFlatIP(384)
        flat.add(vecs)
        hnsw = faiss.IndexHNSWFlat(384, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        t = time.perf_counter()
        hnsw.add(vecs)
        build = time.perf_counter() - t
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH

        def timed(index):  # noqa: ANN001, ANN202
            lat, ids = [], []
            for q in queries:
                t = time.perf_counter()
                ids.append(index.search(q[None, :], 8)[1][0])
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            return statistics.median(lat), lat[int(0.95 * (len(lat) - 1))], ids

        f50, f95, exact = timed(flat)
        h50, h95, approx = timed(hnsw)
        recall = np.mean([len(set(a) & set(e)) / 8 for a, e in zip(approx, exact)])
        print(f"{n:>9,} | {f50:6.2f} / {f95:6.2f} | {build:7.1f} | {h50:6.2f} / {h95:6.2f} | {recall:.3f}", flush=True)


if __name__ == "__main__":
    main()
