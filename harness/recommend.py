"""The recommendation engine: from a run's measurements and the user's constraints to a verdict per scenario.

Pure data logic (no UI): the CLI, the app and the report all call `recommend()`. The rule, stated in every
rationale so that it can be defended:
1. Exclude every strategy that breaks a stated constraint, by its measured value: peak memory over the
   budget, training time over the budget, seconds per answer over the latency budget, and, when answers
   must cite sources, strategies whose answers carry none (no retrieval measured).
2. The decision score (`endpoint`) is the weighted item mean the user asked for: accuracy (blended with
   the accuracy after the corpus changed without retraining, by how often the data changes) plus, by its
   weight, supported accuracy: a right answer's credit times the share of its claims the knowledge base
   supports, 0 for a wrong one. Faithfulness is thus a risk on the answers that answer, never a reward of
   its own: a copied passage, a bare citation or a fluent invention earns nothing (docs/decisions.md). When
   no strategy writes significantly more right answers than none (floor_test), it is recognition (the key
   facts' log-likelihood under each strategy's own prompt) where measured, else partial credit (right
   fields, stated facts beyond the question's own); with neither, accuracy where any right answer was
   written, else nothing: the ranking is then by cost, and says so.
3. The allowed strategy with the highest decision score leads, and the verdict (harness.verdict) says
   whether it is best, whether a cheaper one is as good within the margin, or that the data cannot tell yet.
Every sentence of the rationale is rendered from the decision record (`Recommendation`), so the text and
the computation cannot disagree. Nothing here reads a scenario's name or kind.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harness.compare import non_dominated
from harness.constraints import DATA_CHANGES, STALENESS, Constraints
from harness.metrics import get as metric
from harness.metrics import sliced
from harness.results import UNDER_TRAINED_BELOW, item_scores, under_trained_note
from harness.stats import ALPHA, Paired, Term, holm, weighted_paired
from harness.verdict import Comparison, Verdict, compare, decide

# the scorers' partial credit, most specific first: right JSON fields, stated facts the question does not give.
# Not token F1: a wrong answer in the reference's wording, or the question repeated, earns it
PARTIAL_CREDIT = ("field_accuracy", "fact_recall")
# below the floor, what decides first where every strategy has it: the key facts' log-likelihood under each
# strategy's own prompt (harness.recognition), which has signal where writing has none, at every model size
RECOGNITION = "keyfact_loglik"
# scorers that only match words against a reference: with a judge (--judge), judged answer correctness is
# their accuracy term, as a token overlap is not an answer being right
REFERENCE_SCORERS = ("exact_match", "token_f1", "rouge_l")
# what each verdict kind means, in a buyer's words (the CLI, the report and the app print these)
KIND_WORDS = {"best": "best, shown", "as_good": "as good and cheaper, shown",
              "inconclusive": "provisional: the data cannot tell yet", "only": "the only candidate: nothing to compare"}


@dataclass(frozen=True)
class Part:
    """One term of the decision score: the mean of `key` over a question set, times `weight`."""

    label: str
    eval_set: str
    key: str
    column: str  # the results column holding its mean
    weight: float


@dataclass
class Candidate:
    strategy: str
    accuracy: float
    accuracy_updated: float
    faithfulness: float
    peak_gb: float
    memory_kind: str
    train_hours: float
    seconds_per_answer: float  # throughput: a batch's time over its items
    latency_p95: float  # a request's wait (95th percentile), what --latency-s is compared with
    retrieves: bool
    citation_rate: float  # share of answers citing a source they were shown (measured; NaN closed book)
    train_accuracy: float
    n_seeds: int
    mc_norm: float = math.nan  # length-normalised multiple choice: does it recognise the answer?
    supported_accuracy: float = math.nan  # right answers' credit times their supported share (0 for wrong ones)
    recognises_not_writes: bool = False  # multiple choice clearly above writing (intervals apart)
    # what can decide below the floor: recognition (keyfact_loglik) and partial credit (fact_recall, ...)
    partial: dict[str, float] = field(default_factory=dict)
    scorer: str = ""
    answer_correctness: float = math.nan  # judged (--judge only)
    by_slice: dict[str, list[float]] = field(default_factory=dict)  # slice -> [accuracy, n items]
    effective_accuracy: float = math.nan
    cost: float = math.nan  # half peak memory, half training time, each relative to the costliest candidate
    score: float = math.nan  # the decision score (endpoint) on the strategy's own items


@dataclass
class Recommendation:
    scenario: str
    constraints: str
    recommended: str | None
    runner_up: str | None
    meets_constraints: bool
    verdict: str = "inconclusive"  # best | as_good | inconclusive | only (harness.verdict)
    leader: str | None = None  # the highest decision score among the allowed strategies
    alternative: str | None = None  # the strategy the verdict names beside the leader
    margin: float = math.nan
    endpoint: list[dict[str, Any]] = field(default_factory=list)  # the decision score's parts: label, weight
    quantity: str = ""  # the decision score in words
    nobody_answers: bool = False  # no strategy writes significantly more right answers than none (floor_test)
    on_recognition: bool = False  # below the floor, recognition (keyfact_loglik) decided
    # the floor's test: the strategy with the most right answers against none, on the accuracy terms
    floor_strategy: str | None = None
    floor_p: float = math.nan
    excluded: dict[str, str] = field(default_factory=dict)
    comparisons: list[dict[str, Any]] = field(default_factory=list)  # every other allowed one vs the leader
    secondary: list[dict[str, Any]] = field(default_factory=list)  # the same per weighted metric, with direction
    untested: list[str] = field(default_factory=list)
    # what the tests show, grouped (group_shown): the leader and those not told apart from it, and per
    # strategy shown behind the leader, which of that top group it is shown behind
    top_group: list[str] = field(default_factory=list)
    shown_behind: dict[str, list[str]] = field(default_factory=dict)
    shown: str = ""  # the same in one sentence
    pareto: list[str] = field(default_factory=list)
    flips: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    rationale: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    headline: str = ""  # the verdict in one sentence
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
            latency_p95=mean("latency_p95_s"),
            retrieves=bool(g["retrieves"].iloc[0]), citation_rate=mean("citation_rate"), train_accuracy=mean("train_accuracy"), n_seeds=len(g),
            mc_norm=mean("mc_accuracy_norm"), supported_accuracy=mean("supported_accuracy"),
            recognises_not_writes=bool(g["recognises_not_writes"].fillna(False).any()),
            partial={m: mean(m) for m in (*PARTIAL_CREDIT, RECOGNITION, "json_valid_rate") if not math.isnan(mean(m))},
            scorer=str(g["scorer"].iloc[0]) if "scorer" in g else "", answer_correctness=mean("answer_correctness"),
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
    if k.latency_s is not None and _nz(c.latency_p95, math.inf) > k.latency_s:
        why.append(f"a request waits {c.latency_p95:.2f} s (p95, one at a time) > budget {k.latency_s:g} s"
                   if not math.isnan(c.latency_p95) else "a request's wait was not measured")
    if k.citations == "required":
        if not c.retrieves:
            why.append("answers carry no retrieved sources to cite")
        elif _nz(c.citation_rate) < k.min_citation_rate:
            why.append(f"cites a source it was shown in {_nz(c.citation_rate):.2f} of its answers "
                       f"(< {k.min_citation_rate:g} required)" if not math.isnan(c.citation_rate) else
                       "its citations were not measured")
    return why


def _overshoot(c: Candidate, k: Constraints) -> float:
    """How far past its numeric budgets a strategy is, in relative terms (0 within all of them)."""
    over = 0.0
    for value, budget in ((c.peak_gb, k.memory_gb), (c.train_hours, k.train_hours), (c.latency_p95, k.latency_s)):
        if budget is not None and budget > 0 and not math.isnan(value):
            over += max(0.0, value / budget - 1)
    return over


def _partial_metric(cands: list[Candidate]) -> str | None:
    """What decides below the floor: recognition where every candidate has it, else the partial-credit metric
    every candidate has, most specific first (None: neither was measured)."""
    return next((m for m in (RECOGNITION, *PARTIAL_CREDIT) if all(m in c.partial for c in cands)), None)


def endpoint(k: Constraints, has_update: bool, floor: bool, partial: str | None, judged: bool = False) -> list[Part]:
    """The decision score's parts, weights scaled so that accuracy counts 1 (the margin is in its points).

    Faithfulness enters only through supported accuracy (credit on right answers, times their supported share),
    so no non-answer earns it. Below the floor (floor_test), recognition or partial credit alone. Empty: no quality
    measure can rank (cost alone). judged: judged answer correctness stands for accuracy on the held-out set (reference-matching
    scorers)."""
    if floor:
        label = "recognition" if partial == RECOGNITION else partial
        return [Part(label, "eval", partial, partial, 1.0)] if partial else []
    u = STALENESS[k.data_changes] if has_update else 0.0
    scale = k.w_accuracy if k.w_accuracy > 0 else 1.0
    parts = []
    if k.w_accuracy > 0 and u < 1:
        parts.append(Part("answer correctness (judged)", "eval", "answer_correctness", "answer_correctness", 1 - u)
                     if judged else Part("accuracy", "eval", "accuracy", "accuracy", 1 - u))
    if k.w_accuracy > 0 and u > 0:
        parts.append(Part("accuracy after the data change", "update", "accuracy", "accuracy_updated", u))
    if k.w_faithfulness > 0 and not judged:
        parts.append(Part("supported accuracy", "eval", "supported_accuracy", "supported_accuracy",
                          k.w_faithfulness / scale))
    return parts


def describe(parts: list[Part]) -> str:
    """The decision score in words, exactly as computed: "accuracy + 0.25 x supported accuracy"."""
    if not parts:
        return "cost alone (no quality measure can rank here)"
    return " + ".join(p.label if p.weight == 1 else f"{p.weight:g} x {p.label}" for p in parts)


def _value(c: Candidate, p: Part) -> float:
    """A part's mean for the candidate (a cell without an update measurement answers as before the change)."""
    updated = c.accuracy if math.isnan(c.accuracy_updated) else c.accuracy_updated
    row = {"accuracy": c.accuracy, "accuracy_updated": updated, "supported_accuracy": c.supported_accuracy,
           "answer_correctness": c.answer_correctness}
    return _nz(row[p.column] if p.column in row else c.partial.get(p.column, math.nan))


def item_terms(samples: list[dict[str, Any]], scenario: str, a: str, b: str, parts: list[Part]) -> list[Term] | None:
    """The decision score's terms for a against b: each part's item scores on the items both have a score for
    (harness.stats.weighted_paired tests and bounds them); None when they share no scored item."""
    terms: list[Term] = []
    for p in parts:
        xa, xb = (item_scores(samples, p.eval_set, p.key, scenario, s) for s in (a, b))
        common = sorted(set(xa) & set(xb))
        if common:
            terms.append((p.weight, [f"{p.eval_set}:{i}" for i in common], [xa[i] for i in common],
                          [xb[i] for i in common]))
    return terms or None


def floor_test(samples: list[dict[str, Any]], scenario: str, strategies: list[str],
               parts: list[Part]) -> tuple[str | None, float]:
    """Whether accuracy has signal here: (the strategy with the most right answers, its p against none).

    Each strategy's accuracy terms are tested against a strategy that writes no right answer, on the same
    items, with the verdict's own paired test (exact McNemar on 0/1 scores: 2 x 0.5^k for k right answers,
    so 6 right answers are needed at alpha 0.05 whatever the number of items; a sign-flip test on graded
    ones). p is NaN where nothing was measured. A fixed bar (0.05 of accuracy) called 2 right of 24 signal."""
    best: tuple[str | None, Paired | None] = (None, None)
    for s in strategies:
        terms: list[Term] = []
        for p in parts:
            xs = item_scores(samples, p.eval_set, p.key, scenario, s)
            if xs:
                keys = sorted(xs)
                terms.append((p.weight, [f"{p.eval_set}:{i}" for i in keys], [0.0] * len(keys), [xs[i] for i in keys]))
        if terms:
            r = weighted_paired(terms)
            if best[1] is None or (r.diff, -r.p) > (best[1].diff, -best[1].p):
                best = (s, r)
    return best[0], (best[1].p if best[1] is not None and best[1].diff > 0 else 1.0 if best[1] else math.nan)


def pareto_front(cands: list[Candidate]) -> list[str]:
    """Strategies no other beats on the decision score, peak memory and training time at once."""
    flags = non_dominated([(_nz(c.score), c.peak_gb, c.train_hours) for c in cands])
    return [c.strategy for c, front in zip(cands, flags) if front]


def _cost(cands: list[Candidate]) -> None:
    max_mem = max((c.peak_gb for c in cands), default=0.0) or 1.0
    max_train = max((c.train_hours for c in cands), default=0.0) or 1.0
    for c in cands:
        c.cost = 0.5 * c.peak_gb / max_mem + 0.5 * c.train_hours / max_train


def group_shown(samples: list[dict[str, Any]], scenario: str, v: Verdict, parts: list[Part]
                ) -> tuple[list[str], dict[str, list[str]]]:
    """(top group, strategy -> the top-group members it is shown behind) from the verdict's comparisons and,
    for each strategy shown behind the leader, its paired test against every other member of the top group
    (Holm over those added comparisons): "rag and baseline shown behind lora and hybrid" only where each of
    those four tests says so."""
    top = [v.leader] + [c.other for c in v.comparisons if not (c.separated and c.direction == "behind")]
    top += [u for u in v.untested if u not in top]
    behind = {c.other: [v.leader] for c in v.comparisons if c.separated and c.direction == "behind"}
    extra = [(t, b) for b in behind for t in top[1:]]
    results = {}
    for t, b in extra:
        terms = item_terms(samples, scenario, t, b, parts)
        if terms is not None:
            results[(t, b)] = weighted_paired(terms)
    adjusted = dict(zip(results, holm([r.p for r in results.values()])))
    for (t, b), r in results.items():
        if adjusted[(t, b)] < ALPHA and r.direction == "behind":
            behind[b].append(t)
    return top, behind


def shown_sentence(top: list[str], behind: dict[str, list[str]]) -> str:
    """What the tests show, in one sentence: who is shown behind whom, and who is not told apart."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for b, above in behind.items():
        groups.setdefault(tuple(a for a in top if a in above), []).append(b)
    clauses = [f"{_and(members)} shown behind {_and(list(above))}" for above, members in groups.items()]
    if len(top) > 1:
        clauses.append(f"{_and(top)} not told apart")
    if not clauses:
        return "nothing is shown: only one strategy was compared"
    return "; ".join(clauses)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _decide(scenario: str, cands: list[Candidate], samples: list[dict[str, Any]], k: Constraints,
            explain: bool = True) -> Recommendation:
    """The decision for one scenario; explain=False skips what only the text needs (the flips re-decide)."""
    rec = Recommendation(scenario, k.describe(), None, None, True, margin=k.margin)
    has_update = any(not math.isnan(c.accuracy_updated) for c in cands)
    allowed = []
    for c in cands:
        why = _exclusions(c, k)
        if why:
            rec.excluded[c.strategy] = "; ".join(why)
        else:
            allowed.append(c)
    _cost(cands)
    u = STALENESS[k.data_changes] if has_update else 0.0
    for c in cands:
        upd = c.accuracy_updated if not math.isnan(c.accuracy_updated) else c.accuracy
        c.effective_accuracy = (1 - u) * _nz(c.accuracy) + u * _nz(upd)
    judged = all(c.scorer in REFERENCE_SCORERS and not math.isnan(c.answer_correctness) for c in cands)
    accuracy_parts = [p for p in endpoint(k, has_update, False, None, judged) if p.key != "supported_accuracy"]
    rec.floor_strategy, rec.floor_p = floor_test(samples, scenario, [c.strategy for c in cands], accuracy_parts)
    floor = rec.nobody_answers = not judged and not rec.floor_p < ALPHA
    partial = _partial_metric(cands) if floor else None
    # below the floor: partial credit where the scorer gives one; else, where some right answers were written,
    # still accuracy (the verdict's tests then say it is not shown), never cost alone over a strategy that
    # answers; cost alone only where no strategy wrote a single right answer
    below = floor and (partial is not None or not any(_nz(c.effective_accuracy) > 0 for c in cands))
    parts = endpoint(k, has_update, below, partial, judged)
    rec.endpoint, rec.quantity = [{"label": p.label, "weight": p.weight} for p in parts], describe(parts)
    rec.on_recognition = bool(parts) and parts[0].key == RECOGNITION
    for c in cands:
        c.score = sum(p.weight * _value(c, p) for p in parts) if parts else -c.cost
    rec.candidates = [asdict(c) for c in sorted(cands, key=lambda c: (-c.score, c.cost))]
    pool = allowed
    if not allowed:
        rec.meets_constraints = False
        # the closest: the fewest broken constraints, then the smallest relative overshoot, then the score
        pool = sorted(cands, key=lambda c: (len(_exclusions(c, k)), _overshoot(c, k), -c.score))[:1]
    ranked = sorted(pool, key=lambda c: (-c.score, c.cost))
    leader = ranked[0]
    others = [c.strategy for c in ranked[1:]]
    if parts or not others:  # decide() names a lone strategy "only", whatever measures quality
        pairs = {o: t for o in others if (t := item_terms(samples, scenario, leader.strategy, o, parts)) is not None}
        # the margin is in points of a score a buyer reads (accuracy); on recognition (nats a byte) there is
        # none to trade for cost: a cheaper strategy must be shown as likely, not within 0.05 nats
        margin = 0.0 if rec.on_recognition else k.margin
        rec.margin = margin
        verdict = decide(leader.strategy, others, {c.strategy: c.cost for c in cands}, pairs, margin, ALPHA,
                         rec.quantity)
    else:  # nothing measures quality here: named by cost, and never called shown
        verdict = Verdict("inconclusive", leader.strategy, leader.strategy, others[0], k.margin,
                          ALPHA, rec.quantity, untested=others)
    rec.verdict, rec.leader, rec.alternative = verdict.kind, verdict.leader, verdict.alternative
    rec.recommended = verdict.recommended
    rec.comparisons = [asdict(c) for c in verdict.comparisons]
    rec.untested = verdict.untested
    if not explain:
        return rec
    if parts and verdict.comparisons:
        rec.top_group, rec.shown_behind = group_shown(samples, scenario, verdict, parts)
        rec.shown = shown_sentence(rec.top_group, rec.shown_behind)
    rec.secondary = [asdict(c) for c in _secondary(samples, scenario, leader.strategy, others, parts)]
    rec.runner_up = next((c.strategy for c in ranked if c.strategy != rec.recommended), None)
    rec.pareto = pareto_front(allowed or cands)
    chosen = next(c for c in cands if c.strategy == rec.recommended)
    rec.headline = _headline(rec, verdict)
    rec.rationale = _rationale(rec, verdict, cands, k, has_update)
    if floor:
        rec.rationale.insert(0, _floor_line(rec, cands, parts))  # says which measure ranked below the floor
    rec.rationale += _slice_lines(cands)
    rec.caveats = _caveats(rec, cands, k)
    rec.caveats += _capacity_caveats(cands, chosen, floor, rec.on_recognition)
    rec.summary = _summary(rec, chosen, k)
    return rec


def _secondary(samples: list[dict[str, Any]], scenario: str, leader: str, others: list[str],
               parts: list[Part]) -> list[Comparison]:
    """Where the decision score has several parts, each part on its own: which way each strategy stands."""
    if len(parts) < 2:
        return []
    out = []
    for p in parts:
        pairs = {o: t for o in others if (t := item_terms(samples, scenario, leader, o, [replace(p, weight=1.0)]))
                 is not None}
        out += compare(leader, pairs, p.label)
    return out


def _lead(c: Comparison) -> str:
    """The leader's lead over the other, with its interval: "+0.12 [-0.02, +0.27]"."""
    return f"{-c.diff:+.2f} [{-c.ci_high:+.2f}, {-c.ci_low:+.2f}]"


def _pv(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p(c: Comparison) -> str:
    corrected = f", Holm-adjusted p {_pv(c.p_holm)}" if c.p_holm != c.p else ""
    return f"{c.test} p {_pv(c.p)}{corrected}"


REALISTIC_ITEMS = 10_000  # beyond this, a count of items reads as a joke, not as advice: it is said in words


def _needed(c: Comparison, margin: float) -> str:
    """How many items would answer the question the data can answer: inside the margin, whether the other is
    as good within it; outside it, whether they differ."""
    if c.items_needed is None:
        return (f"no difference was measured on their {c.n_items} shared items, so more items at this difference "
                "would not tell them apart")
    question = (f"to show {c.other} as good within the margin of {margin:g}" if c.needed_for == "non_inferior"
                else "to tell them apart")
    if c.items_needed > REALISTIC_ITEMS:
        return (f"{question} would take more than {REALISTIC_ITEMS:,} items, beyond any realistic eval set: at this "
                "difference, for a buyer they are equivalent in all but name")
    more = c.items_needed - c.n_items
    tail = f"{c.items_needed} in all, for 80% power at alpha = {c.alpha_used:.3g}"
    return (f"{question}, about {more} more items would ({tail})" if more > 0 else
            f"the {c.n_items} items already asked should have sufficed {question} ({tail}); the observed difference "
            "may be smaller than it looks")


def _headline(rec: Recommendation, v: Verdict) -> str:
    """The verdict in one sentence a buyer can act on."""
    if v.kind == "only":
        if not rec.meets_constraints:
            return (f"No strategy meets these constraints; {v.leader}, the closest, is named alone: there is nothing "
                    "to compare it with.")
        return f"{v.leader} is the only strategy within these constraints: there is nothing to compare it with."
    if v.kind == "best":
        return (f"{v.leader} is best: ahead of every other allowed strategy on {v.quantity}, each paired test "
                f"significant after Holm's correction over {len(v.comparisons)} comparisons.")
    if v.kind == "as_good":
        c = v.against(v.alternative)
        assert c is not None
        return (f"{v.alternative} is as good as {v.leader} within the margin of {v.margin:g} and cheaper: "
                f"{v.alternative} - {v.leader} = {c.diff:+.2f}, and its lower bound {c.ni_low:+.2f} "
                f"({c.ni_level:.1%} interval) is above -{v.margin:g}.")
    if not v.comparisons and not v.alternative:
        return f"{v.leader} is the only strategy left to name; nothing measured its quality here."
    if not v.comparisons:
        return (f"Nothing here measures quality, so the data cannot tell {v.leader} from {v.alternative}; "
                f"{v.leader} is named on cost alone.")
    c = v.against(v.alternative)
    if c is None:
        return (f"The data cannot tell {v.leader} from {v.alternative} (no shared per-item scores); {v.leader} "
                "leads provisionally.")
    return (f"The data cannot yet tell {v.leader} from {v.alternative}: {v.leader} leads by {_lead(c)} on "
            f"{v.quantity} ({_p(c)}); {_needed(c, v.margin)}. {v.leader} leads provisionally.")


def _floor_line(rec: Recommendation, cands: list[Candidate], parts: list[Part]) -> str:
    best = max(_nz(c.effective_accuracy) for c in cands)
    test = (f"; the most, {rec.floor_strategy}, against none: p {_pv(rec.floor_p)}" if rec.floor_strategy
            and not math.isnan(rec.floor_p) else "")
    line = (f"No strategy writes significantly more right answers than none here (accuracy at most {best:.2f}"
            f"{test}): the measured model is too small for this scenario, and accuracy cannot separate the "
            "strategies.")
    if rec.on_recognition:
        return line + (" They are ranked on recognition instead: how likely each strategy finds the reference's "
                       "key facts after its own prompt (log-likelihood per byte), which separates strategies where "
                       "writing does not; partial credit and faithfulness are left out.")
    if parts and parts[0].label in PARTIAL_CREDIT:
        p = parts[0].label
        return line + (f" They are ranked by {p} ({metric(p).label}) instead; faithfulness is left out "
                       "because it also rewards answers that answer nothing (a copied passage, a bare citation).")
    if parts:
        return line + (" No partial-credit measure is available: they are still ranked by the right answers they "
                       "wrote, and no lead among them is shown.")
    return line + (" No partial-credit measure is available: the ranking below rests on cost alone (half peak "
                   "memory, half training time), and faithfulness is left out.")


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


def _capacity_caveats(cands: list[Candidate], choice: Candidate, floor: bool, on_recognition: bool = False
                      ) -> list[str]:
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
    if floor and on_recognition:
        out.append(f"Decided on recognition: the measured model does not write these answers, so the choice of "
                   f"{choice.strategy} rests on which strategy makes the right facts most likely, not on answers "
                   "it wrote. A larger model that writes them may decide differently (likelihood rankings at "
                   "~150M agree with those at 1B in about 80% of comparisons, DataDecide): re-run on the model "
                   "you will deploy (harness run --model PATH, on a GPU) before buying on this.")
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


def _comparison_line(c: Comparison, leader: str, margin: float) -> str:
    """One comparison, always saying which way it goes."""
    if c.direction == "even":
        text = f"{c.other} scores the same as {leader} on {c.quantity} ({c.n_items} items; interval of the difference " \
               f"[{c.ci_low:+.2f}, {c.ci_high:+.2f}])"
    else:
        where = "ahead of" if c.direction == "ahead" else "behind"
        text = (f"{c.other} is {where} {leader} on {c.quantity} by {abs(c.diff):.2f} "
                f"({c.other} - {leader} = {c.diff:+.2f} [{c.ci_low:+.2f}, {c.ci_high:+.2f}], {c.n_items} items; {_p(c)})")
    if c.separated:
        text += ": a measured difference"
    elif c.direction != "even":
        text += ": not told apart yet"
    if c.non_inferior is not None:
        text += (f"; it is cheaper, and its lower bound {c.ni_low:+.2f} ({c.ni_level:.1%} interval) is "
                 + ("above" if c.non_inferior else "not above") + f" minus the margin, {-margin:+.2f}")
    return text + "."


def _rationale(rec: Recommendation, v: Verdict, cands: list[Candidate], k: Constraints, has_update: bool) -> list[str]:
    by = {c.strategy: c for c in cands}
    lines = [f"Verdict ({KIND_WORDS[v.kind]}): {rec.headline}"]
    if not rec.meets_constraints:
        lines.append(f"No strategy meets every constraint ({k.describe()}); the closest is {v.leader}.")
    for s, why in rec.excluded.items():
        lines.append(f"Excluded {s}: {why}.")
    u = STALENESS[k.data_changes]
    if u > 0 and has_update:
        lines.append(f"Data changes {k.data_changes}: {u:.0%} of the accuracy term is the measured accuracy on the "
                     "updated corpus without retraining.")
    elif u > 0:
        lines.append(f"Data changes {k.data_changes}, but this scenario has no corpus_update measurement: the "
                     "constraint could not be applied from evidence.")
    lines.append(f"Decision score: {rec.quantity}. Leader: {v.leader} ({_fmt_c(by[v.leader])}).")
    if rec.recommended != v.leader:
        lines.append(f"Recommended: {rec.recommended} ({_fmt_c(by[rec.recommended])}).")
    for c in v.comparisons:
        lines.append(_comparison_line(c, v.leader, v.margin))
    for s in v.untested:
        if v.comparisons or rec.endpoint:
            lines.append(f"{s}: no per-item scores shared with {v.leader}, so the difference ({_fmt_c(by[s])}) is "
                         "not tested.")
    for d in rec.secondary:
        c = Comparison(**d)
        if c.separated:  # the parts that do differ, each with its direction
            lines.append("Part of the score: " + _comparison_line(c, v.leader, v.margin))
    lines.append(f"Pareto front (decision score vs peak memory vs training time): {', '.join(rec.pareto)}.")
    return lines


def _caveats(rec: Recommendation, cands: list[Candidate], k: Constraints) -> list[str]:
    out = []
    for c in cands:
        if not math.isnan(c.train_accuracy) and c.train_accuracy < UNDER_TRAINED_BELOW:
            out.append(under_trained_note(c.strategy, c.train_accuracy, c.retrieves))
    if k.memory_gb is not None and k.gpu_memory and any(c.memory_kind != "cuda" for c in cands):
        out.append("The memory budget is GPU VRAM but this run measured CPU RSS: memory was not used to exclude "
                   "strategies. Run on a GPU (--device cuda) to apply it.")
    if any(c.n_seeds == 1 for c in cands if c.train_hours > 0):
        out.append("Fine-tuned cells ran under one seed: the intervals cover the choice of questions, not the "
                   "variance of training; --seeds 0,1,2 measures it.")
    return out


def _summary(rec: Recommendation, choice: Candidate, k: Constraints) -> str:
    if not rec.meets_constraints:
        return (f"{rec.scenario}: no strategy meets {k.describe()}; closest: {choice.strategy} "
                f"({_fmt_c(choice)}).")
    return f"{rec.scenario}: {choice.strategy} ({KIND_WORDS[rec.verdict]}; {_fmt_c(choice)}). {rec.headline}"


def _flips(scenario: str, cands: list[Candidate], samples: list[dict[str, Any]], k: Constraints,
           chosen: str) -> list[str]:
    """What change of one constraint would change the choice, found by re-deciding under it."""
    out = []
    by = {c.strategy: c for c in cands}
    c = by[chosen]

    def other(k2: Constraints) -> str | None:
        """The choice under k2, where it answers: a strategy with no credit on the decision score (it writes
        no right answer, no right field, no fact) is never offered as the alternative."""
        r = _decide(scenario, [replace(x) for x in cands], samples, k2, explain=False)
        if not r.meets_constraints:
            return None
        score = next(x["score"] for x in r.candidates if x["strategy"] == r.recommended)
        return r.recommended if not r.endpoint or r.on_recognition or score > 0 else None

    if c.peak_gb > 0 and not (k.gpu_memory and c.memory_kind != "cuda"):
        below = c.peak_gb * 0.999
        alt = other(replace(k, memory_gb=below))
        out.append(f"with less than {c.peak_gb:.2f} GB: {alt}" if alt else
                   f"with less than {c.peak_gb:.2f} GB: no strategy that answers fits")
    if c.train_hours > 0:
        alt = other(replace(k, train_hours=c.train_hours * 0.999))
        out.append(f"with under {c.train_hours * 60:.1f} min of training: {alt or 'no strategy that answers fits'}")
    for changes in DATA_CHANGES:
        if changes != k.data_changes:
            alt = other(replace(k, data_changes=changes))
            if alt and alt != chosen:
                out.append(f"if the data changed {changes}: {alt}")
    flip_cite = "optional" if k.citations == "required" else "required"
    alt = other(replace(k, citations=flip_cite))
    if alt != chosen:
        out.append(f"with citations {flip_cite}: {alt or 'no strategy that answers fits'}")
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


def decided_on(rec: Recommendation) -> str:
    """The measure that decided, and why that one."""
    if not rec.endpoint:
        return f"{rec.quantity}: no strategy wrote a right answer, and no partial credit was measured"
    if rec.on_recognition:
        return ("recognition, how likely each strategy finds the reference's key facts after its own prompt "
                "(log-likelihood per byte): the measured model does not write these answers (no strategy writes "
                "significantly more right ones than none)")
    if rec.nobody_answers and rec.quantity in PARTIAL_CREDIT:
        why = (f" (the most, {rec.floor_strategy}, p {_pv(rec.floor_p)} against none)" if rec.floor_strategy
               and not math.isnan(rec.floor_p) else "")
        return (f"{rec.quantity} ({metric(rec.quantity).label}): no strategy writes significantly more right "
                f"answers than none{why}")
    if rec.nobody_answers:
        return f"{rec.quantity}, though no strategy writes significantly more right answers than none"
    return rec.quantity


def main_caveat(rec: Recommendation) -> str | None:
    """The caveat a buyer must read first: the model's capacity, then the chosen strategy's training."""
    for first in ("Decided on recognition", "No strategy answers", "The measured model recognises"):
        for c in rec.caveats:
            if c.startswith(first):
                return c
    return next((c for c in rec.caveats if c.startswith(f"{rec.recommended} ")), rec.caveats[0] if rec.caveats
                else None)


def render_text(recs: dict[str, Recommendation], details: bool = False) -> str:
    """At most four lines a scenario: the verdict, the measure that decided, what is shown, the caveat that
    matters most; with details, the whole rationale, the flips and every caveat after them."""
    lines = []
    for rec in recs.values():
        lines.append(f"{rec.scenario}: {rec.recommended} ({KIND_WORDS[rec.verdict]}). {rec.headline}"
                     + ("" if rec.meets_constraints else " NO strategy meets the constraints: the closest is named."))
        lines.append(f"  decided on: {decided_on(rec)}")
        if rec.shown:
            lines.append(f"  shown: {rec.shown}")
        caveat = main_caveat(rec)
        if caveat:
            lines.append(f"  caveat: {caveat}")
        if details:
            lines.append(f"  constraints: {rec.constraints}")
            lines += [f"  - {line}" for line in rec.rationale]
            if rec.flips:
                lines.append("  would change: " + "; ".join(rec.flips))
            lines += [f"  caveat: {c}" for c in rec.caveats if c != caveat]
    if lines and not details:
        lines.append("(harness recommend --details: the evidence behind each line)")
    return "\n".join(lines) if lines else "no finished cells in this run: nothing to recommend yet"
