"""The verdict: from paired item scores to one of three answers a buyer can act on, never "tied, so the cheapest".

- best: the leader is ahead of every other allowed strategy, each paired test significant after Holm's
  correction over those comparisons;
- as_good: a cheaper strategy is shown non-inferior to the leader within the buyer's margin: the lower
  bound of its paired interval (level 1 - alpha/m over the m cheaper strategies tested, Bonferroni) is
  above -margin. The cheapest such strategy is recommended;
- inconclusive: neither. The leader is named as provisional, with the interval of its lead and the items a
  test would need to tell it from the alternative (80% power at the observed difference);
- only: no other strategy is allowed (or measured), so there is nothing to compare; neither shown nor
  provisional, and never called best.

Pure numpy over per-item scores: the recommender calls it on a run's samples, bench/calibration.py on
simulated ones, so the figures there are the figures of this code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.stats import ALPHA, LEVEL, Paired, Term, holm, items_needed, items_needed_non_inferior, weighted_paired

Kind = Literal["best", "as_good", "inconclusive", "only"]


@dataclass
class Comparison:
    """Another strategy against the leader on one quantity: every figure the text quotes."""

    other: str
    quantity: str
    n_items: int
    leader_mean: float
    other_mean: float
    diff: float  # other - leader
    ci_low: float  # of diff, at `level`
    ci_high: float
    level: float
    p: float  # two-sided, uncorrected
    p_holm: float  # Holm-adjusted over the comparisons of this quantity
    test: str
    direction: str  # how the other stands against the leader: ahead | behind | even
    separated: bool  # p_holm below alpha
    non_inferior: bool | None = None  # cheaper strategies only: lower bound above -margin
    ni_low: float = math.nan  # that lower bound (level 1 - alpha/m)
    ni_level: float = math.nan
    items_needed: int | None = None  # items for 80% power at the corrected level, where not separated
    alpha_used: float = ALPHA  # the level items_needed is computed at
    # the question items_needed answers: inside the margin (|diff| < margin) whether the other is as good
    # ("non_inferior"), which the data can answer; outside it, whether they differ ("superior")
    needed_for: str = "superior"


@dataclass
class Verdict:
    kind: Kind
    leader: str
    recommended: str
    alternative: str | None  # the cheaper strategy shown as good (as_good) or not told apart (inconclusive)
    margin: float
    alpha: float
    quantity: str
    comparisons: list[Comparison] = field(default_factory=list)
    untested: list[str] = field(default_factory=list)  # allowed strategies without shared per-item scores

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def against(self, other: str | None) -> Comparison | None:
        return next((c for c in self.comparisons if c.other == other), None)


Pairs = dict[str, Sequence[Term]]  # other strategy -> the decision score's terms, leader's scores first


def compare(leader: str, pairs: Pairs, quantity: str, alpha: float = ALPHA,
            results: dict[str, Paired] | None = None) -> list[Comparison]:
    """Each other strategy against the leader on `quantity`, Holm-corrected over these comparisons.

    pairs: other -> terms (weight, item keys, leader's item scores, other's), on the items both have;
    results: their paired tests where already computed."""
    results = results if results is not None else {o: weighted_paired(terms) for o, terms in pairs.items()}
    adjusted = dict(zip(results, holm([r.p for r in results.values()])))
    out = []
    for o, r in results.items():
        out.append(Comparison(other=o, quantity=quantity, n_items=r.n, leader_mean=r.mean_a, other_mean=r.mean_b,
                              diff=r.diff, ci_low=r.ci_low, ci_high=r.ci_high, level=LEVEL, p=r.p,
                              p_holm=adjusted[o], test=r.test, direction=r.direction,
                              separated=adjusted[o] < alpha))
    return out


def decide(leader: str, others: Sequence[str], cost: dict[str, float], pairs: Pairs, margin: float,
           alpha: float = ALPHA, quantity: str = "the decision score") -> Verdict:
    """The verdict for `leader` (the best point estimate) against the other allowed strategies.

    cost: lower is cheaper; pairs: as for compare(); an allowed strategy missing from pairs has no shared
    item scores and cannot be told apart from the leader."""
    if not others:
        return Verdict("only", leader, leader, None, margin, alpha, quantity)
    results = {o: weighted_paired(pairs[o]) for o in others if o in pairs}
    comps = compare(leader, pairs, quantity, alpha, results)
    by = {c.other: c for c in comps}
    cheaper = sorted((o for o in by if cost[o] < cost[leader]), key=lambda o: cost[o])
    for o in cheaper:
        level = 1 - alpha / len(cheaper)
        r = results[o] if level == LEVEL else weighted_paired(pairs[o], level=level)
        by[o].non_inferior, by[o].ni_low, by[o].ni_level = r.ci_low > -margin, r.ci_low, level
    m = max(len(comps), 1)
    for c in comps:
        if not c.separated:
            c.alpha_used = alpha / m  # the worst case of Holm's steps: Bonferroni
            if abs(c.diff) < margin:  # inside the margin: showing "as good" is the question the data can answer
                c.needed_for = "non_inferior"
                c.items_needed = items_needed_non_inferior(results[c.other], margin, alpha / m)
            else:
                c.items_needed = items_needed(results[c.other], alpha / m)
    untested = [o for o in others if o not in pairs]
    shown_as_good = [o for o in cheaper if by[o].non_inferior]
    if shown_as_good:
        return Verdict("as_good", leader, shown_as_good[0], shown_as_good[0], margin, alpha, quantity, comps,
                       untested)
    if not untested and all(c.separated and c.direction == "behind" for c in comps):
        return Verdict("best", leader, leader, None, margin, alpha, quantity, comps, untested)
    open_ = [c for c in comps if not (c.separated and c.direction == "behind")]
    cheap_open = sorted((c for c in open_ if cost[c.other] < cost[leader]), key=lambda c: cost[c.other])
    alt = (cheap_open[0].other if cheap_open else max(open_, key=lambda c: c.other_mean).other if open_
           else untested[0])
    return Verdict("inconclusive", leader, leader, alt, margin, alpha, quantity, comps, untested)
