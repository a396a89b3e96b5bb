"""The recommendation engine: from a run's measurements and the user's constraints to a choice per scenario.

Pure data logic (no UI): the CLI, the app and the report all call `recommend()`. The rule, stated
in every rationale so that it can be defended:
1. Exclude every strategy that breaks a stated constraint, by its measured value: peak memory over
   the budget, training time over the budget, seconds per answer over the latency budget, and, when
   answers must cite sources, strategies whose answers carry none (no retrieval measured).
2. Score the rest: accuracy (blended with `accuracy_updated`, the measured accuracy after the
   corpus changed without retraining, by how often the data changes), plus faithfulness and minus
   cost by the user's weights.
3. The top score leads; every strategy whose difference from the leader is not significant on the
   weighted metrics (paired bootstrap, p >= 0.05) is tied with it, and the cheapest of the tie
   (peak memory, then training time) is recommended: paying for a difference that is noise is waste.
Nothing here reads a scenario's name or kind.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.compare import non_dominated, paired_p
from harness.constraints import DATA_CHANGES, STALENESS, Constraints
from harness.metrics import get as metric
from harness.metrics import sliced
from harness.results import UNDER_TRAINED_BELOW, under_trained_note
from harness.stats import ALPHA

# accuracy at or below this for every strategy: the measured model writes (almost) no right answer here,
# so accuracy cannot separate the strategies and partial credit must (one item of 24 is 0.04)
NEAR_ZERO = 0.05
# the scorers' partial credit, most specific first: right JSON fields, stated facts, overlapping words
PARTIAL_CREDIT = ("field_accuracy", "fact_recall", "token_f1")

@dataclass
class Candidate:
    strategy: str
    accuracy: float
    accuracy_updated: float
    faithfulness: float
    peak_gb: float
    memory_kind: str
    train_hours: float
    seconds_per_answer: float
    cites_sources: bool
    train_accuracy: float
    n_seeds: int
    mc_norm: float = math.nan  # length-normalised multiple choice: does it recognise the answer?
    recognises_not_writes: bool = False  # multiple choice clearly above writing (intervals apart)
    partial: dict[str, float] = field(default_factory=dict)  # partial-credit metrics (fact_recall, ...)
    by_slice: dict[str, list[float]] = field(default_factory=dict)  # slice -> [accuracy, n items]
    effective_accuracy: float = math.nan
    cost: float = math.nan
    score: float = math.nan


@dataclass
class Recommendation:
    scenario: str
    constraints: str
    recommended: str | None
    runner_up: str | None
    meets_constraints: bool
    nobody_answers: bool = False  # every strategy at or below NEAR_ZERO: ranked by partial credit
    excluded: dict[str, str] = field(default_factory=dict)
    tied: dict[str, float] = field(default_factory=dict)  # strategy -> p-value against the leader
    beaten: dict[str, float] = field(default_factory=dict)  # significantly below the leader: p-value
    beaten_on: dict[str, str] = field(default_factory=dict)  # ... on which metric (the smallest p)
    pareto: list[str] = field(default_factory=list)
    flips: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    rationale: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _f(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _nz(v: float, default: float = 0.0) -> float:
    return default if math.isnan(v) else v


def candidates_from(frame: Any) -> dict[str, list[Candidate]]:
    """scenario -> one Candidate per ok strategy, averaged over seeds."""
    out: dict[str, list[Candidate]] = {}
    ok = frame[frame["status"] == "ok"]
    for (scenario, strategy), g in ok.groupby(["scenario", "strategy"], sort=False):
        mean = lambda c: _f(g[c].astype(float).mean()) if c in g else math.nan  # noqa: E731
        peak = max(_f(v) for v in g["peak_memory_mb"]) / 1024
        out.setdefault(scenario, []).append(Candidate(
            strategy=strategy, accuracy=mean("accuracy"), accuracy_updated=mean("accuracy_updated"),
            faithfulness=mean("faithfulness"), peak_gb=peak, memory_kind=str(g["memory_kind"].iloc[0]),
            train_hours=_nz(mean("train_seconds")) / 3600, seconds_per_answer=mean("seconds_per_answer"),
            cites_sources=bool(g["retrieves"].iloc[0]), train_accuracy=mean("train_accuracy"), n_seeds=len(g),
            mc_norm=mean("mc_accuracy_norm"), recognises_not_writes=bool(g["recognises_not_writes"].fillna(False).any()),
            partial={m: mean(m) for m in (*PARTIAL_CREDIT, "json_valid_rate") if not math.isnan(mean(m))},
            by_slice={m.slice: [mean(m.name), mean(f"n_items_{m.slice}")] for m in sliced()
                      if _nz(mean(f"n_items_{m.slice}")) > 0},
        ))
    return out


def _exclusions(c: Candidate, k: Constraints) -> list[str]:
    why = []
    if k.memory_gb is not None:
        if k.gpu_memory and c.memory_kind != "cuda":
            pass  # reported once per scenario as a caveat: a CPU RSS peak is not VRAM
        elif c.peak_gb > k.memory_gb:
            why.append(f"peak memory {c.peak_gb:.2f} GB > budget {k.memory_gb:g} GB")
    if k.train_hours is not None and c.train_hours > k.train_hours:
        why.append(f"training {c.train_hours * 60:.1f} min > budget {k.train_hours * 60:.1f} min")
    if k.latency_s is not None and _nz(c.seconds_per_answer, math.inf) > k.latency_s:
        why.append(f"{c.seconds_per_answer:.2f} s per answer > budget {k.latency_s:g} s")
    if k.citations == "required" and not c.cites_sources:
        why.append("answers carry no retrieved sources to cite")
    return why


def _overshoot(c: Candidate, k: Constraints) -> float:
    """How far past its numeric budgets a strategy is, in relative terms (0 within all of them)."""
    over = 0.0
    for value, budget in ((c.peak_gb, k.memory_gb), (c.train_hours, k.train_hours), (c.seconds_per_answer, k.latency_s)):
        if budget is not None and budget > 0 and not math.isnan(value):
            over += max(0.0, value / budget - 1)
    return over


def _score(cands: list[Candidate], k: Constraints) -> None:
    u = STALENESS[k.data_changes]
    max_mem = max((c.peak_gb for c in cands), default=0.0) or 1.0
    max_train = max((c.train_hours for c in cands), default=0.0) or 1.0
    for c in cands:
        upd = c.accuracy_updated if not math.isnan(c.accuracy_updated) else c.accuracy
        c.effective_accuracy = (1 - u) * _nz(c.accuracy) + u * _nz(upd)
        c.cost = 0.5 * c.peak_gb / max_mem + 0.5 * c.train_hours / max_train
        c.score = k.w_accuracy * c.effective_accuracy + k.w_faithfulness * _nz(c.faithfulness) - k.w_cost * c.cost


def _partial_metric(cands: list[Candidate]) -> str | None:
    """The partial-credit metric every candidate has, most specific first (None: the scorer gives none)."""
    return next((m for m in PARTIAL_CREDIT if all(m in c.partial for c in cands)), None)


def _score_partial(cands: list[Candidate], k: Constraints, partial: str) -> None:
    """When nobody writes right answers: rank by partial credit instead of accuracy, and drop faithfulness,
    which also rewards fluent wrong answers (a field value found in the evidence counts as supported)."""
    for c in cands:
        c.score = k.w_accuracy * c.partial[partial] - k.w_cost * c.cost


def _tests(k: Constraints, has_update: bool, partial: str | None = None) -> list[tuple[str, str, str]]:
    """(label, eval_set, score key) of the metrics whose weight is non-zero: a tie needs noise on all."""
    if partial:
        return [(partial, "eval", partial)]
    u = STALENESS[k.data_changes] if has_update else 0.0
    tests = []
    if k.w_accuracy > 0 and u < 1:
        tests.append(("accuracy", "eval", "accuracy"))
    if k.w_accuracy > 0 and u > 0:
        tests.append(("accuracy after the data change", "update", "accuracy"))
    if k.w_faithfulness > 0:
        tests.append(("faithfulness", "eval", "faithfulness"))
    return tests


def pareto_front(cands: list[Candidate]) -> list[str]:
    """Strategies no other beats on accuracy, peak memory and training time at once."""
    flags = non_dominated([(c.effective_accuracy, c.peak_gb, c.train_hours) for c in cands])
    return [c.strategy for c, front in zip(cands, flags) if front]


def _decide(scenario: str, cands: list[Candidate], samples: list[dict[str, Any]], k: Constraints) -> Recommendation:
    rec = Recommendation(scenario, k.describe(), None, None, True)
    has_update = any(not math.isnan(c.accuracy_updated) for c in cands)
    allowed = []
    for c in cands:
        why = _exclusions(c, k)
        if why:
            rec.excluded[c.strategy] = "; ".join(why)
        else:
            allowed.append(c)
    _score(cands, k)
    floor = rec.nobody_answers = all(_nz(c.effective_accuracy) <= NEAR_ZERO for c in cands)
    partial = _partial_metric(cands) if floor else None
    if partial:
        _score_partial(cands, k, partial)
    rec.candidates = [asdict(c) for c in sorted(cands, key=lambda c: -c.score)]
    pool = allowed
    if not allowed:
        rec.meets_constraints = False
        # the closest: the fewest broken constraints, then the smallest relative overshoot, then the score
        pool = sorted(cands, key=lambda c: (len(_exclusions(c, k)), _overshoot(c, k), -c.score))[:1]
    ranked = sorted(pool, key=lambda c: (-c.score, c.cost))
    leader = ranked[0]
    tests = _tests(k, has_update, partial)
    tie = [leader]
    for c in ranked[1:]:
        ps = [(paired_p(samples, scenario, leader.strategy, c.strategy, es, key), label) for label, es, key in tests]
        ps = [(p, label) for p, label in ps if not math.isnan(p)]
        p, label = min(ps) if ps else (math.nan, "")
        if ps and p >= ALPHA:
            tie.append(c)
            rec.tied[c.strategy] = p
        else:
            rec.beaten[c.strategy] = p
            rec.beaten_on[c.strategy] = label
    choice = min(tie, key=lambda c: (c.cost, -c.score))
    rec.recommended = choice.strategy
    others = [c for c in ranked if c is not choice]
    rec.runner_up = others[0].strategy if others else None
    rec.pareto = pareto_front(allowed or cands)
    rec.rationale = _rationale(rec, choice, leader, tie, tests, k, cands, has_update)
    if floor:
        rec.rationale.insert(0, _floor_line(cands, partial))
    rec.rationale += _slice_lines(cands)
    rec.caveats = _caveats(rec, cands, k, has_update)
    rec.caveats += _capacity_caveats(rec, cands, choice, floor)
    rec.summary = _summary(rec, choice, k)
    return rec


def _floor_line(cands: list[Candidate], partial: str | None) -> str:
    best = max(_nz(c.effective_accuracy) for c in cands)
    line = (f"No strategy writes right answers here (accuracy at most {best:.2f} for every strategy): the measured "
            "model is too small for this scenario, and accuracy cannot separate the strategies.")
    if partial:
        return line + (f" They are ranked by {partial} ({metric(partial).label}) instead; faithfulness is left out "
                       "because it also rewards fluent wrong answers.")
    return line + " No partial-credit measure is available: the ranking below rests on cost alone."


def _slice_lines(cands: list[Candidate]) -> list[str]:
    """Accuracy per slice where the strategies differ: is a lead recall of training items, or generalisation?"""
    out = []
    slices = [s for s in ("seen", "composed", "unseen", "changed") if any(s in c.by_slice for c in cands)]
    for s in slices:
        vals = [(c.strategy, c.by_slice[s]) for c in cands if s in c.by_slice]
        accs = [v[0] for _, v in vals if not math.isnan(v[0])]
        if len(accs) > 1 and max(accs) - min(accs) > 0:
            n = int(vals[0][1][1])
            out.append(f"On {s} items ({n}): " + ", ".join(f"{st} {v[0]:.2f}" for st, v in vals) + ".")
    if slices and not out:
        out.append("The strategies score the same on every slice (" + ", ".join(slices) + ").")
    return out


def _capacity_caveats(rec: Recommendation, cands: list[Candidate], choice: Candidate, floor: bool) -> list[str]:
    """Where the numbers are limited by the model under test, say so next to the recommendation."""
    out = []
    recog = [c for c in cands if c.recognises_not_writes]
    by_mc = sorted((c for c in cands if not math.isnan(c.mc_norm)), key=lambda c: -c.mc_norm)
    if recog:
        names = ", ".join(f"{c.strategy} (picks {c.mc_norm:.2f} in multiple choice, writes {c.accuracy:.2f})"
                          for c in recog)
        top = f"; multiple choice ranks {by_mc[0].strategy} first ({by_mc[0].mc_norm:.2f})" if by_mc else ""
        out.append(f"The measured model recognises the right answer but does not write it: {names}. That is a "
                   f"capacity limit of the model under test, which a larger target model may not share: the choice "
                   f"of {choice.strategy} holds for the measured model{top}. Re-run on the model you will deploy "
                   "(harness run --model PATH, on a GPU) before buying on this.")
    if floor:
        fmt = sorted((c for c in cands if "json_valid_rate" in c.partial), key=lambda c: -c.partial["json_valid_rate"])
        shows = [f"{by_mc[0].strategy} recognises the answer most often (multiple choice {by_mc[0].mc_norm:.2f})"
                 ] if by_mc else []
        if fmt:
            shows.append(f"{fmt[0].strategy} writes the asked format most often (valid JSON "
                         f"{fmt[0].partial['json_valid_rate']:.2f})")
        out.append("No strategy answers this scenario with the measured model. What the measurements do show: "
                   + ("; ".join(shows) if shows else "nothing that separates the strategies")
                   + ". A model that writes these answers needs more capacity: re-run with a larger one "
                     "(harness run --model PATH).")
    return out


def _fmt_c(c: Candidate) -> str:
    return (f"accuracy {c.accuracy:.2f}" + ("" if math.isnan(c.accuracy_updated) else
                                            f", after the data change {c.accuracy_updated:.2f}")
            + ("" if math.isnan(c.faithfulness) else f", faithfulness {c.faithfulness:.2f}")
            + f", peak {c.peak_gb:.2f} GB ({c.memory_kind}), training {c.train_hours * 60:.1f} min")


def _rationale(rec: Recommendation, choice: Candidate, leader: Candidate, tie: list[Candidate],
               tests: list[tuple[str, str, str]], k: Constraints, cands: list[Candidate], has_update: bool) -> list[str]:
    lines = []
    if not rec.meets_constraints:
        lines.append(f"No strategy meets every constraint ({k.describe()}); the closest is {choice.strategy}.")
    for s, why in rec.excluded.items():
        lines.append(f"Excluded {s}: {why}.")
    u = STALENESS[k.data_changes]
    if u > 0 and has_update:
        lines.append(f"Data changes {k.data_changes}: {u:.0%} of the accuracy score is the measured accuracy on the "
                     "updated corpus without retraining.")
    elif u > 0:
        lines.append(f"Data changes {k.data_changes}, but this scenario has no corpus_update measurement: the "
                     "constraint could not be applied from evidence.")
    lines.append(f"{choice.strategy}: {_fmt_c(choice)}.")
    metrics = ", ".join(t[0] for t in tests) or "the weighted metrics"
    if choice is not leader:
        lines.append(f"{leader.strategy} scores highest ({_fmt_c(leader)}), but the difference from {choice.strategy} "
                     f"is within noise on {metrics} (paired bootstrap p = {rec.tied[choice.strategy]:.2f}), and "
                     f"{choice.strategy} is cheaper.")
    for s, p in rec.tied.items():
        if s != choice.strategy:
            lines.append(f"{s} is within noise of {leader.strategy} (p = {p:.2f}).")
    for s, p in rec.beaten.items():
        c = next(x for x in cands if x.strategy == s)
        lines.append(f"{s} is significantly behind on {rec.beaten_on[s]} ({_fmt_c(c)}; p = {p:.3f})."
                     if not math.isnan(p) else
                     f"{s} is behind ({_fmt_c(c)}); no per-item scores to test the difference.")
    lines.append(f"Pareto front (accuracy vs peak memory vs training time): {', '.join(rec.pareto)}.")
    return lines


def _caveats(rec: Recommendation, cands: list[Candidate], k: Constraints, has_update: bool) -> list[str]:
    out = []
    for c in cands:
        if not math.isnan(c.train_accuracy) and c.train_accuracy < UNDER_TRAINED_BELOW:
            out.append(under_trained_note(c.strategy, c.train_accuracy, c.cites_sources))
    if k.memory_gb is not None and k.gpu_memory and any(c.memory_kind != "cuda" for c in cands):
        out.append("The memory budget is GPU VRAM but this run measured CPU RSS: memory was not used to exclude "
                   "strategies. Run on a GPU (--device cuda) to apply it.")
    if any(c.n_seeds == 1 for c in cands if c.train_hours > 0):
        out.append("Fine-tuned cells ran under one seed; --seeds 0,1,2 measures their spread.")
    return out


def _summary(rec: Recommendation, choice: Candidate, k: Constraints) -> str:
    if not rec.meets_constraints:
        return (f"{rec.scenario}: no strategy meets {k.describe()}; closest: {choice.strategy} "
                f"({_fmt_c(choice)}).")
    tail = f"; runner-up {rec.runner_up}" if rec.runner_up else ""
    return f"{rec.scenario}: {choice.strategy} ({_fmt_c(choice)}){tail}; assuming {k.describe()}."


def _flips(scenario: str, cands: list[Candidate], samples: list[dict[str, Any]], k: Constraints,
           chosen: str) -> list[str]:
    """What change of one constraint would change the choice, found by re-deciding under it."""
    out = []
    by = {c.strategy: c for c in cands}
    c = by[chosen]

    def other(k2: Constraints) -> str | None:
        r = _decide(scenario, [replace(x) for x in cands], samples, k2)
        return r.recommended if r.meets_constraints else None

    if c.peak_gb > 0 and not (k.gpu_memory and c.memory_kind != "cuda"):
        below = c.peak_gb * 0.999
        alt = other(replace(k, memory_gb=below))
        out.append(f"with less than {c.peak_gb:.2f} GB: {alt}" if alt else
                   f"with less than {c.peak_gb:.2f} GB: no strategy fits")
    if c.train_hours > 0:
        alt = other(replace(k, train_hours=c.train_hours * 0.999))
        out.append(f"with under {c.train_hours * 60:.1f} min of training: {alt or 'no strategy fits'}")
    for changes in DATA_CHANGES:
        if changes != k.data_changes:
            alt = other(replace(k, data_changes=changes))
            if alt and alt != chosen:
                out.append(f"if the data changed {changes}: {alt}")
    flip_cite = "optional" if k.citations == "required" else "required"
    alt = other(replace(k, citations=flip_cite))
    if alt != chosen:
        out.append(f"with citations {flip_cite}: {alt or 'no strategy fits'}")
    return out


def recommend(frame: Any, samples: list[dict[str, Any]], constraints: Constraints) -> dict[str, Recommendation]:
    """scenario -> Recommendation, for every scenario with at least one finished cell."""
    out = {}
    for scenario, cands in candidates_from(frame).items():
        rec = _decide(scenario, cands, samples, constraints)
        if rec.recommended:
            rec.flips = _flips(scenario, cands, samples, constraints, rec.recommended)
        out[scenario] = rec
    return out


def render_text(recs: dict[str, Recommendation]) -> str:
    lines = []
    for rec in recs.values():
        lines.append(f"== {rec.scenario}")
        lines.append(f"recommended: {rec.recommended}" + (f"   runner-up: {rec.runner_up}" if rec.runner_up else "")
                     + ("" if rec.meets_constraints else "   (NO strategy meets the constraints: closest shown)"))
        lines.append(f"constraints: {rec.constraints}")
        lines += [f"  - {line}" for line in rec.rationale]
        if rec.flips:
            lines.append("  would change: " + "; ".join(rec.flips))
        lines += [f"  caveat: {c}" for c in rec.caveats]
    return "\n".join(lines) if lines else "no finished cells in this run: nothing to recommend yet"
