"""Intervals and paired tests that hold their stated level on 24 to 200 items, from scipy where scipy has them.

Which test fits which score (Dror et al. 2018; Miller 2024, "Adding Error Bars to Evals"):
- a proportion (0/1 per item): the Clopper-Pearson interval. Wilson's dips to 0.936 coverage at 24 items
  and p = 0.5 (exact binomial sums, bench/calibration.py); Clopper-Pearson stays at or above 0.955.
- a mean of continuous item scores: the BCa bootstrap (`scipy.stats.bootstrap`).
- two strategies on the same items, 0/1 scores: the exact McNemar test (a binomial test on the discordant
  items, `scipy.stats.binomtest`) and Newcombe's square-and-add interval of the difference, built on the
  Clopper-Pearson limits of the two proportions (with Wilson limits it covers 0.93 at 24 items).
- the same with continuous scores: the sign-flip permutation test of the mean difference
  (`scipy.stats.permutation_test`, exact up to 2^16 sign patterns, seeded beyond) and the BCa interval.
- a weighted sum of such means (the decision score, accuracy + 0.25 x supported accuracy): the sign-flip test of
  each item's whole weighted difference, and the terms' intervals combined by MOVER (Zou and Donner 2008:
  Newcombe's square-and-add, generalised), with the correlation of the terms' item differences. A BCa
  interval of the combined item differences covers only 0.77-0.92 at 24 items when few answers are right.
  The two are approximations from different procedures and can disagree on whether the difference is zero
  (an interval across zero beside p < 0.001 was seen); where they do, the interval shown is the test's own,
  found by inverting it (the shifts of the item differences it does not reject), so a figure never says
  two things.
- many comparisons: Holm's step-down correction.
No interval collapses: where every item scores the same, the bound is the share of items that could
still differ (Clopper-Pearson of 0 of n) times the room the score has. Everything is deterministic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

ALPHA = 0.05  # the significance level of every test and 1 - the level of every interval
LEVEL = 1 - ALPHA
POWER = 0.8  # the power the "items needed" figure is for
EXACT_UP_TO = 16  # nonzero paired differences up to which the permutation test enumerates every sign pattern
RESAMPLES = 9999  # permutation resamples beyond that, and bootstrap resamples
SEED = 0


def _binary(x: np.ndarray) -> bool:
    return bool(x.size) and bool(np.isin(x, (0.0, 1.0)).all())


@lru_cache(maxsize=4096)
def proportion_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Clopper-Pearson interval of k successes in n: never narrower than its level needs."""
    from scipy.stats import binomtest

    if n <= 0:
        return math.nan, math.nan
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def _flat(value: float, n: int, lo: float, hi: float, level: float) -> tuple[float, float]:
    """Every item scored `value`: up to the Clopper-Pearson bound of 0 of n items may still differ, each by
    at most the room the score has on its side."""
    share = proportion_ci(0, n, level)[1]
    return value - share * (value - lo), value + share * (hi - value)


def _bca(x: np.ndarray, level: float, seed: int) -> tuple[float, float]:
    from scipy.stats import bootstrap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a degenerate resample warns; the NaN it gives is handled by the caller
        res = bootstrap((x,), np.mean, confidence_level=level, method="BCa", n_resamples=RESAMPLES,
                        vectorized=True, rng=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_ci(values: Sequence[float], level: float = LEVEL, seed: int = SEED,
            bounds: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """Interval of the mean item score: Clopper-Pearson for 0/1 scores, BCa bootstrap otherwise."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    if _binary(x):
        return proportion_ci(int(x.sum()), int(x.size), level)
    if np.ptp(x) == 0:
        return _flat(float(x[0]), x.size, min(bounds[0], float(x[0])), max(bounds[1], float(x[0])), level)
    low, high = _bca(x, level, seed)
    if math.isnan(low) or math.isnan(high):
        return _flat(float(x.mean()), x.size, bounds[0], bounds[1], level)
    return low, high


@dataclass(frozen=True)
class Paired:
    """b against a on the same items: the difference b - a with its interval and a two-sided p-value."""

    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p: float
    test: str
    discordant: int = 0  # items where the two differ
    sd: float = math.nan  # standard deviation of the item differences (for the items-needed figure)

    @property
    def direction(self) -> str:
        """How b stands against a: ahead, behind, or even (no difference measured)."""
        return "ahead" if self.diff > 0 else "behind" if self.diff < 0 else "even"


def newcombe_ci(a11: int, a10: int, a01: int, a00: int, level: float = LEVEL) -> tuple[float, float]:
    """Newcombe's square-and-add interval of p(b) - p(a) for paired 0/1 scores (a10: a right, b wrong; a01: the
    reverse), on the Clopper-Pearson limits of the two proportions; it does not collapse when no item differs."""
    n = a11 + a10 + a01 + a00
    pa, pb = (a11 + a10) / n, (a11 + a01) / n
    la, ua = proportion_ci(a11 + a10, n, level)
    lb, ub = proportion_ci(a11 + a01, n, level)
    den = (a11 + a10) * (a01 + a00) * (a11 + a01) * (a10 + a00)
    phi = (a11 * a00 - a10 * a01) / math.sqrt(den) if den > 0 else 0.0
    d = pb - pa
    below = math.sqrt(max(0.0, (pb - lb) ** 2 - 2 * phi * (pb - lb) * (ua - pa) + (ua - pa) ** 2))
    above = math.sqrt(max(0.0, (ub - pb) ** 2 - 2 * phi * (ub - pb) * (pa - la) + (pa - la) ** 2))
    return max(-1.0, d - below), min(1.0, d + above)


def sign_flip_p(d: Sequence[float], seed: int = SEED) -> float:
    """Two-sided p-value that paired differences are symmetric about 0 (sign-flip permutation of their mean)."""
    from scipy.stats import permutation_test

    x = np.asarray(d, dtype=float)
    x = x[x != 0]
    if x.size <= 1:  # one nonzero difference: its two sign patterns are equally extreme
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = permutation_test((x,), lambda v, axis: np.mean(v, axis=axis), permutation_type="samples",
                               vectorized=True, alternative="two-sided",
                               n_resamples=2 ** x.size if x.size <= EXACT_UP_TO else RESAMPLES,
                               rng=np.random.default_rng(seed))
    return float(min(1.0, res.pvalue))


def paired(a: Sequence[float], b: Sequence[float], level: float = LEVEL, seed: int = SEED) -> Paired:
    """b against a item by item: exact McNemar and Newcombe's interval for 0/1 scores, the sign-flip permutation
    test and the BCa interval of the differences otherwise."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.size == 0:
        raise ValueError("paired scores must be two non-empty sequences of the same length")
    d = y - x
    n, discordant = int(x.size), int((d != 0).sum())
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if _binary(x) and _binary(y):
        from scipy.stats import binomtest

        b_wins, a_wins = int((d > 0).sum()), int((d < 0).sum())
        p = float(binomtest(b_wins, discordant).pvalue) if discordant else 1.0
        both = int(((x == 1) & (y == 1)).sum())
        low, high = newcombe_ci(both, a_wins, b_wins, n - both - a_wins - b_wins, level)
        test = "exact McNemar"
    else:
        p = sign_flip_p(d, seed)
        test = "sign-flip permutation" + (" (exact)" if 0 < discordant <= EXACT_UP_TO else "")
        if np.ptp(d) == 0:
            low, high = _flat(float(d[0]), n, -1.0, 1.0, level)
        else:
            low, high = _bca(d, level, seed)
            if math.isnan(low) or math.isnan(high):
                low, high = _flat(float(d.mean()), n, -1.0, 1.0, level)
    low, high = _agreeing(d, low, high, p, level, seed)
    return Paired(n=n, mean_a=float(x.mean()), mean_b=float(y.mean()), diff=float(d.mean()), ci_low=low,
                  ci_high=high, p=p, test=test, discordant=discordant, sd=sd)


def _agreeing(d: np.ndarray, low: float, high: float, p: float, level: float, seed: int) -> tuple[float, float]:
    """The interval, or, where it and the test disagree on whether the difference is zero, the test's own
    (inverted_sign_flip_ci: on 0/1 differences the sign-flip test at zero is the exact McNemar test)."""
    if (low > 0 or high < 0) != (p < 1 - level):
        return inverted_sign_flip_ci(d, p, level, seed)
    return low, high


# a weighted term of a decision score: (weight, item keys, a's item scores, b's item scores), in one item order
Term = tuple[float, Sequence[str], Sequence[float], Sequence[float]]


def weighted_paired(terms: Sequence[Term], level: float = LEVEL, seed: int = SEED) -> Paired:
    """b against a on sum_t weight_t x mean_t(score): see the module docstring for the test and the interval.

    An item that appears in several terms (accuracy and faithfulness of one eval item) flips as one; items
    of different question sets are independent. One term of weight 1 is `paired` itself."""
    if len(terms) == 1 and terms[0][0] == 1.0:
        return paired(terms[0][2], terms[0][3], level, seed)
    index: dict[str, int] = {}
    for _, keys, _, _ in terms:
        for k in keys:
            index.setdefault(k, len(index))
    n = len(index)
    ua, ub = np.zeros(n), np.zeros(n)
    parts, diffs = [], []
    for w, keys, a, b in terms:
        rows = np.array([index[k] for k in keys])
        scale = w * n / len(keys)  # so that the mean over all n items is w x this term's mean
        np.add.at(ua, rows, scale * np.asarray(a, dtype=float))
        np.add.at(ub, rows, scale * np.asarray(b, dtype=float))
        r = paired(a, b, level, seed)
        parts.append((w * r.diff, w * r.ci_low, w * r.ci_high))
        diffs.append(dict(zip(keys, np.asarray(b, dtype=float) - np.asarray(a, dtype=float))))
    d = ub - ua
    est = sum(t[0] for t in parts)
    below = above = 0.0
    for i, (ti, li, hi_) in enumerate(parts):
        for j, (tj, lj, hj) in enumerate(parts):
            r = 1.0 if i == j else _correlation(diffs[i], diffs[j])
            below += r * (ti - li) * (tj - lj)
            above += r * (hi_ - ti) * (hj - tj)
    p = sign_flip_p(d, seed)
    discordant = int((d != 0).sum())
    low, high = _agreeing(d, est - math.sqrt(max(below, 0.0)), est + math.sqrt(max(above, 0.0)), p, level, seed)
    return Paired(n=n, mean_a=float(ua.mean()), mean_b=float(ub.mean()), diff=est, ci_low=low, ci_high=high, p=p,
                  test="sign-flip permutation" + (" (exact)" if 0 < discordant <= EXACT_UP_TO else ""),
                  discordant=discordant, sd=float(d.std(ddof=1)) if n > 1 else math.nan)


def inverted_sign_flip_ci(d: np.ndarray, p0: float, level: float = LEVEL, seed: int = SEED,
                          steps: int = 16) -> tuple[float, float]:
    """The interval of the mean difference that the sign-flip test gives: the shifts delta it does not reject
    (p of d - delta at least 1 - level), each bound found by bisection between the mean and the farthest item
    difference (16 halvings: to 1/65,536 of that reach, finer than the two decimals shown); zero is inside
    exactly when the test at zero (p0) does not reject. Memoised: a recommendation re-decides the same pairs
    under each constraint it tries."""
    return _inverted(np.asarray(d, dtype=float).tobytes(), p0, level, seed, steps)


@lru_cache(maxsize=4096)
def _inverted(d_bytes: bytes, p0: float, level: float, seed: int, steps: int) -> tuple[float, float]:
    d = np.frombuffer(d_bytes, dtype=float)
    alpha = 1 - level
    est = float(d.mean())
    reach = float(np.abs(d - est).max()) + 1e-9

    def kept(delta: float) -> bool:
        return sign_flip_p(d - delta, seed) >= alpha

    bounds = []
    for far in (est - reach, est + reach):
        near = est  # kept (the test does not reject the mean itself); `far` is rejected
        for _ in range(steps):
            mid = (near + far) / 2
            near, far = (mid, far) if kept(mid) else (near, mid)
        bounds.append(near)
    low, high = bounds
    if p0 >= alpha:  # the test keeps zero: so does its interval
        low, high = min(low, 0.0), max(high, 0.0)
    elif low <= 0 <= high:  # it rejects zero: the bound on zero's side stops short of it
        low, high = (low, min(high, -1e-12)) if est < 0 else (max(low, 1e-12), high)
    return low, high


def _correlation(x: dict[str, float], y: dict[str, float]) -> float:
    """Pearson correlation of two terms' item differences on their shared items (0 where undefined)."""
    common = [k for k in x if k in y]
    if len(common) < 2:
        return 0.0
    a, b = np.array([x[k] for k in common]), np.array([y[k] for k in common])
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order); NaN stays NaN and does not count as a comparison."""
    p = [float(v) for v in pvalues]
    idx = sorted((i for i, v in enumerate(p) if not math.isnan(v)), key=lambda i: p[i])
    m, out, running = len(idx), list(p), 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def items_needed(r: Paired, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Items a paired test would need to find the observed difference with `power` at `alpha` (two-sided).

    0/1 scores (McNemar, Connor 1987): n = (z_a sqrt(psi) + z_b sqrt(psi - delta^2))^2 / delta^2, with psi the
    observed share of discordant items and delta the observed difference. Continuous scores (paired t
    approximation): n = ((z_a + z_b) sd / delta)^2. None when no difference was observed."""
    from scipy.stats import norm

    if r.diff == 0 or math.isnan(r.diff):
        return None
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    if r.test == "exact McNemar":
        psi, delta = r.discordant / r.n, abs(r.diff)
        n = (za * math.sqrt(psi) + zb * math.sqrt(max(psi - delta ** 2, 0.0))) ** 2 / delta ** 2
    else:
        if math.isnan(r.sd) or r.sd == 0:
            return None
        n = ((za + zb) * r.sd / abs(r.diff)) ** 2
    return int(math.ceil(n))


def items_needed_non_inferior(r: Paired, margin: float, alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Items a paired test would need to show b non-inferior to a within `margin` (the lower bound of the
    two-sided 1 - alpha interval of b - a above -margin) with `power`, if the true difference is the observed
    one: n = ((z_a + z_b) sd / (diff + margin))^2, sd of the item differences (0/1: sqrt(psi - diff^2)).
    None when the observed difference is at or below -margin (it cannot be shown) or nothing varies."""
    from scipy.stats import norm

    gap = r.diff + margin
    if gap <= 0 or math.isnan(gap):
        return None
    sd = math.sqrt(max(r.discordant / r.n - r.diff ** 2, 0.0)) if r.test == "exact McNemar" else r.sd
    if math.isnan(sd) or sd == 0:
        return None
    za, zb = norm.ppf(1 - alpha / 2), norm.ppf(power)
    return int(math.ceil(((za + zb) * sd / gap) ** 2))


def agreement(predicted: Sequence[bool], gold: Sequence[bool]) -> tuple[float, float]:
    """(accuracy, Cohen's kappa) of binary predictions against labels: kappa discounts chance agreement."""
    p, g = np.asarray(predicted, dtype=bool), np.asarray(gold, dtype=bool)
    if p.shape != g.shape or p.size == 0:
        raise ValueError("predictions and labels must be two non-empty sequences of the same length")
    acc = float((p == g).mean())
    chance = float(p.mean() * g.mean() + (1 - p.mean()) * (1 - g.mean()))
    kappa = 1.0 if chance == 1.0 else (acc - chance) / (1 - chance)
    return acc, float(kappa)
