"""Is the verdict calibrated? Simulated runs of two strategies, decided by harness.verdict exactly as `recommend` does.

Strategy A is the costlier one and B the cheaper; B is right with the base rate p per item, A with p, p + 0.15
or p + the margin. Each answers every item with its own probability; a shared
item difficulty (a Gaussian copula, latent correlation 0.6) makes "correlated pairs", as two strategies
answering the same questions are. Each setting is simulated `--sims` times (2,000 by default) and prints:
- null (A and B equally good): the share of "best" verdicts, a false positive (target <= 0.05);
- lead (A truly +0.15 ahead): the share of "best" for A, the power; and of "as good" for B, a false claim;
- NI edge (B truly exactly the margin behind): the share of "as good" for B, the non-inferiority test's
  false positive rate (its level is one-sided 0.025 with one cheaper strategy);
- the coverage of the 95% intervals: A's accuracy (Clopper-Pearson), and the paired difference B - A the
  verdict rests on (Newcombe on Clopper-Pearson limits; with --weighted, the decision score accuracy +
  0.25 x supported accuracy, MOVER over the two terms, or the inverted sign-flip test where the two
  disagree), in every setting;
- the share of "inconclusive" verdicts.
With --shown, three strategies instead, all equally good (the null): the share of runs where the grouped
"shown" sentence says any strategy is shown behind another (harness.recommend.group_shown, on the
verdict's own comparisons), a false claim (target <= 0.05).
Monte Carlo error of a rate r over S simulations: sqrt(r (1 - r) / S), printed for 0.05.

Run: python bench/calibration.py [--sims 2000] [--weighted | --shown] [--n 24,60,200] [--p 0.05,0.3,0.5]
     [--pairs independent,correlated] [--setting null,lead,edge] [--seed 0]
(--pairs and --setting keep only those rows: a suspect row rerun with more simulations, or another seed)
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy.stats import norm

from harness.constraints import DEFAULT_MARGIN
from harness.stats import mean_ci
from harness.verdict import decide

CORRELATION = 0.6  # latent correlation of two strategies' answers to one item ("correlated pairs")
LEAD = 0.15
FAITH_WEIGHT = 0.25


def draw(rng: np.random.Generator, n: int, pa: float, pb: float, corr: float) -> tuple[np.ndarray, np.ndarray]:
    """Paired 0/1 scores with P(A right) = pa, P(B right) = pb and latent correlation corr."""
    z = rng.normal(size=n)
    za = math.sqrt(corr) * z + math.sqrt(1 - corr) * rng.normal(size=n)
    zb = math.sqrt(corr) * z + math.sqrt(1 - corr) * rng.normal(size=n)
    return (za < norm.ppf(pa)).astype(float), (zb < norm.ppf(pb)).astype(float)


def faith(rng: np.random.Generator, right: np.ndarray) -> np.ndarray:
    """A faithfulness score per item, higher on right answers (Beta(2 + 2 x right, 2)): mean 0.5 or 0.67."""
    return rng.beta(2 + 2 * right, 2)


FAITH_MEAN = {0: 0.5, 1: 4 / 6}


def true_score(p: float, weighted: bool) -> float:
    """The decision score's true value: accuracy, plus (weighted) a quarter of supported accuracy, which is a
    right answer's faithfulness and 0 for a wrong one."""
    return p + (FAITH_WEIGHT * p * FAITH_MEAN[1] if weighted else 0.0)


def one(rng: np.random.Generator, n: int, pa: float, pb: float, corr: float, weighted: bool) -> dict[str, float]:
    a, b = draw(rng, n, pa, pb, corr)
    keys = [f"eval:{i}" for i in range(n)]
    terms_ab = [(1.0, keys, a, b)]
    if weighted:
        fa, fb = a * faith(rng, a), b * faith(rng, b)  # supported accuracy: 0 on a wrong answer
        terms_ab.append((FAITH_WEIGHT, keys, fa, fb))
        score_a, score_b = a.mean() + FAITH_WEIGHT * fa.mean(), b.mean() + FAITH_WEIGHT * fb.mean()
    else:
        score_a, score_b = a.mean(), b.mean()
    cost = {"A": 1.0, "B": 0.0}
    leader = "A" if score_a > score_b else "B"  # ties go to the cheaper, as recommend ranks them
    other = "B" if leader == "A" else "A"
    flip = [(w, k, y, x) for w, k, x, y in terms_ab]
    v = decide(leader, [other], cost, {other: terms_ab if leader == "A" else flip}, DEFAULT_MARGIN)
    c = v.comparisons[0]
    b_minus_a = (c.diff, c.ci_low, c.ci_high) if leader == "A" else (-c.diff, -c.ci_high, -c.ci_low)
    truth = true_score(pb, weighted) - true_score(pa, weighted)
    lo, hi = mean_ci(a)
    return {"best_A": v.kind == "best" and leader == "A", "best_any": v.kind == "best",
            "as_good_B": v.kind == "as_good" and v.recommended == "B", "inconclusive": v.kind == "inconclusive",
            "covers_diff": b_minus_a[1] <= truth <= b_minus_a[2], "covers_a": lo <= pa <= hi}


SETTINGS = {"null": "null", "lead": "A leads +0.15", "edge": "B behind by the margin"}


def run(sims: int, ns: list[int], ps: list[float], weighted: bool, seed: int,
        pairs: tuple[str, ...] = ("independent", "correlated"), settings: tuple[str, ...] = tuple(SETTINGS)) -> None:
    print(f"endpoint: {'accuracy + 0.25 x supported accuracy' if weighted else 'accuracy (0/1)'}; {sims} simulations "
          f"per row; margin {DEFAULT_MARGIN}; Monte Carlo error at 0.05: +-{math.sqrt(0.05 * 0.95 / sims):.4f}")
    print("| n | p(B) | pairs | setting | best (false +) | best A (power) | as good B | inconclusive | "
          "covers B-A | covers p(A) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(seed)
    for n in ns:
        for p in ps:
            for label, corr in (("independent", 0.0), ("correlated", CORRELATION)):
                if label not in pairs:
                    continue
                # B answers at the base rate p; A at p, p + 0.15, or exactly the margin above
                for key, pa in (("null", p), ("lead", p + LEAD), ("edge", p + DEFAULT_MARGIN)):
                    if key not in settings:
                        continue
                    setting = SETTINGS[key]
                    out = [one(rng, n, pa, p, corr, weighted) for _ in range(sims)]
                    rate = {k: float(np.mean([o[k] for o in out])) for k in out[0]}
                    print(f"| {n} | {p:g} | {label} | {setting} | {rate['best_any']:.3f} | {rate['best_A']:.3f} | "
                          f"{rate['as_good_B']:.3f} | {rate['inconclusive']:.3f} | {rate['covers_diff']:.3f} | "
                          f"{rate['covers_a']:.3f} |", flush=True)


def shown_null(rng: np.random.Generator, n: int, p: float, corr: float) -> bool:
    """Three equally good strategies decided as `recommend` does: does the grouped sentence claim any is shown
    behind another?"""
    from harness.recommend import Part, group_shown

    names = ("A", "B", "C")
    z = rng.normal(size=n)
    scores = {s: (math.sqrt(corr) * z + math.sqrt(1 - corr) * rng.normal(size=n) < norm.ppf(p)).astype(float)
              for s in names}
    samples = [{"scenario": "sc", "strategy": s, "eval_set": "eval", "item_id": f"e{i}", "scores": {"accuracy": v}}
               for s in names for i, v in enumerate(scores[s])]
    ranked = sorted(names, key=lambda s: (-scores[s].mean(), s))
    leader, others = ranked[0], list(ranked[1:])
    keys = [f"eval:e{i}" for i in range(n)]
    pairs = {o: [(1.0, keys, scores[leader], scores[o])] for o in others}
    v = decide(leader, others, {s: float(i) for i, s in enumerate(names)}, pairs, DEFAULT_MARGIN)
    _, behind = group_shown(samples, "sc", v, [Part("accuracy", "eval", "accuracy", "accuracy", 1.0)])
    return bool(behind)


def run_shown(sims: int, ns: list[int], ps: list[float], seed: int) -> None:
    print(f"three equally good strategies; {sims} simulations per row; Monte Carlo error at 0.05: "
          f"+-{math.sqrt(0.05 * 0.95 / sims):.4f}")
    print("| n | p | pairs | any 'shown behind' (false +) |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(seed)
    for n in ns:
        for p in ps:
            for label, corr in (("independent", 0.0), ("correlated", CORRELATION)):
                rate = float(np.mean([shown_null(rng, n, p, corr) for _ in range(sims)]))
                print(f"| {n} | {p:g} | {label} | {rate:.3f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--n", default="24,60,200")
    ap.add_argument("--p", default="0.05,0.3,0.5")
    ap.add_argument("--weighted", action="store_true", help="the default decision score: accuracy + 0.25 x "
                                                             "supported accuracy (slower: permutation and BCa)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shown", action="store_true", help="three equally good strategies: false 'shown behind'")
    ap.add_argument("--pairs", default="independent,correlated")
    ap.add_argument("--setting", default=",".join(SETTINGS), help=f"rows to keep: {', '.join(SETTINGS)}")
    a = ap.parse_args()
    pairs, settings = tuple(a.pairs.split(",")), tuple(a.setting.split(","))
    unknown = [x for x in pairs if x not in ("independent", "correlated")] + [x for x in settings if x not in SETTINGS]
    if unknown:
        ap.error(f"unknown --pairs or --setting value(s): {', '.join(unknown)}")
    start = time.perf_counter()
    if a.shown:
        run_shown(a.sims, [int(x) for x in a.n.split(",")], [float(x) for x in a.p.split(",")], a.seed)
        print(f"\n{time.perf_counter() - start:.0f} s")
        return
    run(a.sims, [int(x) for x in a.n.split(",")], [float(x) for x in a.p.split(",")], a.weighted, a.seed, pairs,
        settings)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
