"""The hand-written BM25 harness used before bm25s (a Python loop over every document per query), kept as
the reference the bm25s rankings are tested against."""

from __future__ import annotations

import math
from collections import Counter

from harness.retrieval import lexical_tokens


class ReferenceBM25:
    """Okapi BM25 (k1=1.5, b=0.75, idf log(1 + (N - df + 0.5) / (df + 0.5)))."""

    def __init__(self, texts: list[str], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(lexical_tokens(t)) for t in texts]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg = sum(self.lengths) / max(len(self.lengths), 1)
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> list[float]:
        q = lexical_tokens(query)
        out = []
        for d, length in zip(self.docs, self.lengths):
            s = 0.0
            for t in q:
                tf = d.get(t, 0)
                if tf:
                    s += self.idf[t] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * length / self.avg))
            out.append(s)
        return out

    def ranking(self, query: str) -> list[int]:
        s = self.scores(query)
        return [i for i in sorted(range(len(s)), key=lambda i: -s[i]) if s[i] > 0]
