"""Bootstrap intervals over items and paired bootstrap tests between strategies.

With 24 eval items a difference of one or two answers is noise; these say when it is not.
Seeded, so the same scores always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
ALPHA = 0.05  # a difference with a paired p-value below this is significant; above it, noise


def bootstrap_ci(values: Sequence[float], level: float = 0.95, resamples: int = RESAMPLES,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean over items."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(resamples, x.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def paired_bootstrap_p(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = 0) -> float:
    """Two-sided p-value that mean(a) and mean(b) differ, resampling items jointly (same items, two systems)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired scores must be two non-empty sequences of the same length")
    d = x - y
    if not d.any():
        return 1.0
    rng = np.random.default_rng(seed)
    deltas = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    return float(min(1.0, 2 * min((deltas <= 0).mean(), (deltas >= 0).mean())))


def agreement(predicted: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float]:
    """(accuracy, Cohen's kappa) of binary predictions against labels: kappa discounts chance agreement."""
    p, g = np.asarray(predicted, dtype=bool), np.asarray(gold, dtype=bool)
    if p.shape != g.shape or p.size == 0:
        raise ValueError("predictions and labels must be two non-empty sequences of the same length")
    acc = float((p == g).mean())
    chance = float(p.mean() * g.mean() + (1 - p.mean()) * (1 - g.mean()))
    kappa = 1.0 if chance == 1.0 else (acc - chance) / (1 - chance)
    return acc, float(kappa)
