"""Across cells: paired comparisons of strategies (harness.stats), and mean/spread over seeds.

Pure pandas over a run folder's rows and samples; the recommender, the app and the report read these
to say when a difference between two strategies is a measurement and when it is noise.
"""

from __future__ import annotations

import itertools
from typing import Any

from harness.metrics import compared, get, over_seeds
from harness.results import COMPARISON_COLUMNS, item_scores
from harness.stats import ALPHA, holm
from harness.stats import paired as paired_test


def non_dominated(points: list[tuple[float, float, float]]) -> list[bool]:
    """Pareto flags for (quality, cost, cost) points: True when no other point is at least as good on all
    three and better on one (higher quality, lower costs)."""
    def beats(o: tuple[float, float, float], p: tuple[float, float, float]) -> bool:
        return o[0] >= p[0] and o[1] <= p[1] and o[2] <= p[2] and (o[0] > p[0] or o[1] < p[1] or o[2] < p[2])

    return [not any(beats(o, p) for j, o in enumerate(points) if j != i) for i, p in enumerate(points)]


def paired(samples: list[dict[str, Any]], scenario: str, a: str, b: str, eval_set: str,
           key: str) -> tuple[list[float], list[float]]:
    """The two strategies' per-item scores on the items both have a score for, in one order."""
    xa, xb = (item_scores(samples, eval_set, key, scenario, s) for s in (a, b))
    common = sorted(set(xa) & set(xb))
    return [xa[i] for i in common], [xb[i] for i in common]


def pairwise(frame: Any, samples: list[dict[str, Any]], metrics: tuple[str, ...] | None = None) -> Any:
    """One row per (scenario, metric, strategy pair): means on the shared items, the difference a - b with its
    95% interval, the paired test's p-value and Holm's correction over the pairs of that scenario and metric
    (harness.stats: exact McNemar for 0/1 scores, sign-flip permutation otherwise)."""
    import pandas as pd

    metrics = compared() if metrics is None else metrics
    rows = []
    ok = frame[frame["status"] == "ok"]
    for scenario, group in ok.groupby("scenario", sort=False):
        strategies = list(dict.fromkeys(group["strategy"]))
        for metric in metrics:
            eval_set, key = get(metric).question_set, get(metric).score_key
            block = []
            for a, b in itertools.combinations(strategies, 2):
                xa, xb = paired(samples, scenario, a, b, eval_set, key)
                if xa:
                    r = paired_test(xb, xa)  # the difference a - b
                    block.append({"scenario": scenario, "metric": metric, "a": a, "b": b, "n_items": r.n,
                                  "mean_a": r.mean_b, "mean_b": r.mean_a, "diff": r.diff, "diff_ci_low": r.ci_low,
                                  "diff_ci_high": r.ci_high, "p_value": r.p, "test": r.test})
            for row, adjusted in zip(block, holm([r["p_value"] for r in block])):
                row.update(p_holm=adjusted, significant=adjusted < ALPHA)
            rows += block
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def seed_summary(frame: Any) -> Any:
    """Mean and standard deviation over seeds per (scenario, strategy); std is NaN with one seed."""
    ok = frame[frame["status"] == "ok"]
    cols = [c for c in over_seeds() if c in ok.columns]
    numeric = ok[["scenario", "strategy", *cols]].copy()
    for c in cols:
        numeric[c] = numeric[c].astype(float)
    grouped = numeric.groupby(["scenario", "strategy"], sort=False)
    out = grouped[cols].agg(["mean", "std"])
    out.columns = [f"{c}_{stat}" for c, stat in out.columns]
    out.insert(0, "n_seeds", grouped.size())
    return out.reset_index()
