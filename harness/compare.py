"""Across cells: paired bootstrap comparisons of strategies, and mean/spread over seeds.

Pure pandas over a run folder's rows and samples; the recommender, the app and the report read these
to say when a difference between two strategies is a measurement and when it is noise.
"""

from __future__ import annotations

import itertools
from typing import Any

from harness.results import INTERVALS, item_scores
from harness.stats import paired_bootstrap_p

COMPARED = ("accuracy", "accuracy_updated", "faithfulness", "mc_accuracy")
SEED_METRICS = ("accuracy", "accuracy_updated", "train_accuracy", "faithfulness", "mc_accuracy", "train_seconds",
                "peak_memory_mb", "seconds_per_answer")
ALPHA = 0.05


def non_dominated(points: list[tuple[float, float, float]]) -> list[bool]:
    """Pareto flags for (quality, cost, cost) points: True when no other point is at least as good on all
    three and better on one (higher quality, lower costs)."""
    def beats(o: tuple[float, float, float], p: tuple[float, float, float]) -> bool:
        return o[0] >= p[0] and o[1] <= p[1] and o[2] <= p[2] and (o[0] > p[0] or o[1] < p[1] or o[2] < p[2])

    return [not any(beats(o, p) for j, o in enumerate(points) if j != i) for i, p in enumerate(points)]


def pairwise(frame: Any, samples: list[dict[str, Any]], metrics: tuple[str, ...] = COMPARED) -> Any:
    """One row per (scenario, metric, strategy pair): means on the shared items, difference, paired p-value."""
    import pandas as pd

    rows = []
    ok = frame[frame["status"] == "ok"]
    for scenario, group in ok.groupby("scenario", sort=False):
        strategies = list(dict.fromkeys(group["strategy"]))
        for metric in metrics:
            eval_set, key = INTERVALS[metric]
            scores = {st: item_scores(samples, eval_set, key, scenario, st) for st in strategies}
            for a, b in itertools.combinations(strategies, 2):
                common = sorted(set(scores[a]) & set(scores[b]))
                if not common:
                    continue
                xa, xb = [scores[a][i] for i in common], [scores[b][i] for i in common]
                p = paired_bootstrap_p(xa, xb)
                rows.append({"scenario": scenario, "metric": metric, "a": a, "b": b, "n_items": len(common),
                             "mean_a": sum(xa) / len(xa), "mean_b": sum(xb) / len(xb),
                             "diff": (sum(xa) - sum(xb)) / len(xa), "p_value": p, "significant": p < ALPHA})
    return pd.DataFrame(rows, columns=["scenario", "metric", "a", "b", "n_items", "mean_a", "mean_b", "diff",
                                       "p_value", "significant"])


def seed_summary(frame: Any) -> Any:
    """Mean and standard deviation over seeds per (scenario, strategy); std is NaN with one seed."""
    ok = frame[frame["status"] == "ok"]
    cols = [c for c in SEED_METRICS if c in ok.columns]
    numeric = ok[["scenario", "strategy", *cols]].copy()
    for c in cols:
        numeric[c] = numeric[c].astype(float)
    grouped = numeric.groupby(["scenario", "strategy"], sort=False)
    out = grouped[cols].agg(["mean", "std"])
    out.columns = [f"{c}_{stat}" for c, stat in out.columns]
    out.insert(0, "n_seeds", grouped.size())
    return out.reset_index()
