"""Answer a cell's question sets and score them: accuracy, faithfulness, retrieval quality, mc_accuracy and
recognition (the key facts' log-likelihood under the cell's own prompt, harness.recognition).

Question sets: `eval` (held out), `update` (the changed corpus, answered without retraining) and, for
cells with an adapter, `train` (a fixed sample of the cell's own training items: was the knowledge
injected at all?). Only answering the eval and update sets is inside the measured block; scoring
(faithfulness, lm-eval, the train sample) is the harness's own work, not the strategy's serving cost.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from harness.cell import CellTask, Context, Example, Strategy
from harness.config import RagPrompt
from harness.data import Document, EvalItem, TrainItem
from harness.citations import citation_scores
from harness.faithfulness import split_claims
from harness.generation import PromptStates, generate, serving_precision
from harness.lmeval import mc_records, mc_scores
from harness.measure import track_peak_memory
from harness.metrics import column, sliced
from harness.prompts import closed_book, with_sources
from harness.recognition import keyfact_loglik
from harness.retrieval import passage
from harness.retrieval_metrics import retrieval_scores
from harness.scorers import SCORERS, Scorer
from harness.scorers.business_flow import stated_action
from harness.slices import slice_of

TRAIN_SAMPLE = 24  # training items answered for train_accuracy (the first N of the profile's slice)
KB_PER_CLAIM, KB_PASSAGES = 2, 8  # knowledge-base evidence of an item without gold documents (_Set.knowledge)
N_ITEMS = {"eval": "n_items", "update": "n_items_updated", "train": "n_items_train"}


def as_question(item: TrainItem, scorer: Scorer) -> EvalItem:
    """A training item asked back (train_accuracy). What the scorer needs and the item does not state is
    derived from its response: the response is the fact to reproduce, and a business-flow response is the
    expected action itself (validation demands a JSON object there)."""
    question = item.as_eval_item()
    fill: dict[str, Any] = {}
    if "required_facts" in scorer.requires and not question.required_facts:
        fill["required_facts"] = [item.response]
    if "expected_fields" in scorer.requires and not question.expected_fields:
        fill["expected_fields"] = stated_action(item) or {}
    return question.model_copy(update=fill) if fill else question


def _mean(values: list[float | None]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.fmean(vals) if vals else math.nan


class _Set:
    """One question set being answered: its items, corpus, prompts and what was retrieved."""

    def __init__(self, label: str, items: list[EvalItem], corpus: list[Document]) -> None:
        self.label, self.items, self.corpus = label, items, corpus
        self.retrieved: list[list[Any]] = [[] for _ in items]
        self.convs: list[list[dict[str, str]]] = []
        self.answers: list[str] = []
        self.scores: list[dict[str, float | None]] = []
        self.extra: list[dict[str, Any]] = [{} for _ in items]
        self.slices: list[str | None] = [None for _ in items]
        self.states: PromptStates = {}  # the answered prompts' keys and values, until multiple choice used them

    def prepare(self, system: str, retrieval: bool, index: Any, top_k: int, layout: RagPrompt) -> None:
        if retrieval:
            self.retrieved = index.search_many([i.question for i in self.items], top_k)
            self.convs = [with_sources(system, i.question, [(r.chunk.id, r.chunk.text) for r in rs], layout.form,
                                       layout.cite) for i, rs in zip(self.items, self.retrieved)]
        else:
            self.convs = [closed_book(system, i.question) for i in self.items]

    def shown(self) -> list[list[str]]:
        """The passages a retrieving strategy was shown, per item."""
        return [[r.chunk.text for r in rs] for rs in self.retrieved]

    def knowledge(self, index: Any) -> list[list[str]]:
        """The same evidence for every strategy: the item's gold documents where it names them, else the
        corpus passages its answer's claims retrieve best (KB_PER_CLAIM each, at most KB_PASSAGES)."""
        docs = {d.id: d for d in self.corpus}
        out = []
        for item, answer in zip(self.items, self.answers):
            gold = [passage(docs[g]) for g in item.gold_doc_ids if g in docs]
            if gold or index is None:
                out.append(gold)
                continue
            claims = [c for c, _ in split_claims(answer)] or [answer]
            found = [r.chunk.text for rs in index.search_many(claims, KB_PER_CLAIM) for r in rs]
            out.append(list(dict.fromkeys(found))[:KB_PASSAGES])
        return out


def answer_and_score(model: Any, strategy: Strategy, task: CellTask,
                     trained_on_examples: list[Example] | None = None) -> dict[str, Any]:
    """Answer and score the cell's question sets. A cell that trained its own adapter is asked its training
    items with the very prompts it was trained on (`trained_on_examples`: RAFT's gold and distractor sources
    too), so train_accuracy measures what training injected; a reused adapter answers them as its strategy
    answers (with retrieval for hybrid)."""
    scenario, ctx, prof = task.scenario, task.ctx, task.profile
    retrieval = strategy.retrieval
    scorer = SCORERS.get(scenario.spec.scorer)
    system = scenario.spec.system_prompt
    layout = scenario.rag_prompt_for(prof.source_form)
    trained_on = scenario.train_for(task.profile_name)  # what a fine-tuned cell of this profile saw
    sets = [_Set("eval", scenario.eval_for(task.profile_name), scenario.corpus)]
    if scenario.eval_update:
        sets.append(_Set("update", scenario.eval_update_for(task.profile_name), scenario.corpus_update))
    train_set = None
    if strategy.train or strategy.reuse_adapter_of:
        train_items = [as_question(t, scorer) for t in trained_on[:TRAIN_SAMPLE]]
        train_set = _Set("train", train_items, scenario.corpus)

    out: dict[str, Any] = {}
    # built once per scenario and corpus, outside the measured block: reported as index_seconds
    indexes = {s.label: ctx.index(scenario.name, s.label if s.label != "train" else "eval", s.corpus,
                                  prof.chunk_tokens, prof.chunk_overlap)
               for s in sets + ([train_set] if train_set else [])} if retrieval else {}
    seconds: list[float] = []
    with track_peak_memory(task.device.device) as mem:
        # the eval set last: the keys and values it keeps for multiple choice are then never resident while
        # another set answers, so the measured peak is answering's alone
        for s in sorted(sets, key=lambda s: s is sets[0]):
            s.prepare(system, retrieval, indexes.get(s.label), prof.top_k, layout)
            answers = generate(model, ctx.tokenizer(), s.convs, prof.max_new_tokens, prof.gen_batch,
                               no_repeat_ngram=prof.no_repeat_ngram,
                               on_batch=ctx.progress.answer_callback(len(s.items), s.label),
                               keep_prompt_states=s is sets[0] and has_choices(s.items), precision=task.precision)
            seconds += answers.seconds_per_answer
            s.answers, s.states = answers.texts, answers.prompt_states
    out["infer_peak_memory_mb"] = mem.peak_mb
    out["infer_reserved_memory_mb"] = mem.reserved_mb
    out["infer_allocated_memory_mb"] = mem.allocated_mb
    out["cuda_context_mb"] = mem.context_mb
    out["infer_memory_kind"] = mem.kind
    out["infer_seconds"] = mem.seconds
    out["seconds_per_answer"] = statistics.fmean(seconds)  # throughput: a batch's time shared by its items
    out.update(_latency(model, ctx, sets[0], system, retrieval, indexes.get("eval"), prof, layout, task.precision))
    if retrieval:
        out["rag_prompt"] = f"{layout.form}, " + ("citation requested" if layout.cite else "no citation request")
        index = indexes["eval"]
        out["index_seconds"], out["index_mb"] = index.build_seconds, index.size_mb
        out["index_precision"] = index.precision

    if train_set is not None:
        if strategy.train and trained_on_examples is not None:
            train_set.convs = [messages for messages, _ in trained_on_examples[: len(train_set.items)]]
        else:
            train_set.prepare(system, retrieval, indexes.get("train"), prof.top_k, layout)
        train_set.answers = generate(model, ctx.tokenizer(), train_set.convs, prof.max_new_tokens, prof.gen_batch,
                                     no_repeat_ngram=prof.no_repeat_ngram,
                                     on_batch=ctx.progress.answer_callback(len(train_set.items), "train"),
                                     precision=task.precision).texts

    for s in sets + ([train_set] if train_set else []):
        s.scores = [dict(scorer(a, i)) for a, i in zip(s.answers, s.items)]

    main = sets[0]
    # the knowledge base for items without gold documents is searched for every strategy alike
    kb_index = (indexes.get("eval") or ctx.index(scenario.name, "eval", main.corpus, prof.chunk_tokens,
                                                 prof.chunk_overlap)) if any(not i.gold_doc_ids for i in main.items) else None
    _faithfulness(main, retrieval, ctx, out, kb_index)
    _correctness(main, ctx)
    if retrieval:
        _retrieval_quality(main, prof.top_k)
        _citations(main, ctx)
    _mc_accuracy(model, main, ctx, system, out, task.precision)
    for sc, value in zip(main.scores, keyfact_loglik(model, ctx.tokenizer(), main.convs, main.items, task.precision)):
        sc["keyfact_loglik"] = _none(value)
    out["answer_precision"] = task.precision
    out["scorer"] = scorer.name

    for s in sets + ([train_set] if train_set else []):
        keys = ["accuracy"] if s.label == "train" else list(s.scores[0])
        for key in keys:
            out[column(s.label, key)] = _mean([sc.get(key) for sc in s.scores])
        out[N_ITEMS[s.label]] = len(s.items)
    _per_slice(sets, trained_on, out)
    out["samples"] = [_sample(s, n) for s in sets + ([train_set] if train_set else []) for n in range(len(s.items))]
    return out


def _latency(model: Any, ctx: Context, s: _Set, system: str, retrieval: bool, index: Any, prof: Any,
             layout: RagPrompt, precision: str) -> dict[str, float]:
    """A user's wait: the first `latency_sample` eval questions asked one at a time, each timed from the
    question to its whole answer (retrieval included), as a request would be served; p50 and p95 of them.
    The answers are not scored: the batched answers are the cell's (the same greedy decoding). Timed in
    generation.serving_precision, which the row records as latency_precision."""
    import numpy as np

    precision = serving_precision(model, precision)
    waits = []
    for item in s.items[:prof.latency_sample]:
        start = time.perf_counter()
        if retrieval:
            hits = index.search_many([item.question], prof.top_k)[0]
            conv = with_sources(system, item.question, [(r.chunk.id, r.chunk.text) for r in hits], layout.form,
                                layout.cite)
        else:
            conv = closed_book(system, item.question)
        generate(model, ctx.tokenizer(), [conv], prof.max_new_tokens, 1, no_repeat_ngram=prof.no_repeat_ngram,
                 precision=precision)
        waits.append(time.perf_counter() - start)
    if not waits:
        return {"latency_p50_s": math.nan, "latency_p95_s": math.nan, "latency_precision": None}
    return {"latency_p50_s": float(np.percentile(waits, 50)), "latency_p95_s": float(np.percentile(waits, 95)),
            "latency_precision": precision}


def _per_slice(sets: list[_Set], trained_on: list[TrainItem], out: dict[str, Any]) -> None:
    """Accuracy (and n) per slice: seen / composed / unseen on the eval set, changed on the update set."""
    for s in sets:
        update = s.label == "update"
        s.slices = [slice_of(i, trained_on, update) for i in s.items]
        for metric in sliced():
            if metric.question_set != s.label:
                continue
            values = [sc.get(metric.score_key) for sc, sl in zip(s.scores, s.slices) if sl == metric.slice]
            out[metric.name] = _mean(values)
            out[f"n_items_{metric.slice}"] = len(values)


def _faithfulness(s: _Set, retrieval: bool, ctx: Context, out: dict[str, Any], kb_index: Any) -> None:
    """faithfulness against the knowledge base, the same evidence for every strategy; groundedness against the
    passages a retrieving strategy was shown (closed-book cells were shown none: not measured)."""
    judge = ctx.faithfulness()
    questions = [i.question for i in s.items]
    results = judge.score_many(questions, s.answers, s.knowledge(kb_index))
    for sc, extra, (value, claims) in zip(s.scores, s.extra, results):
        sc["faithfulness"] = _none(value)
        sc["supported_accuracy"] = supported_accuracy(sc.get("accuracy"), sc["faithfulness"])
        extra["claims"] = claims
    if retrieval:
        for sc, (value, _) in zip(s.scores, judge.score_many(questions, s.answers, s.shown())):
            sc["groundedness"] = _none(value)
    out["faithfulness_method"] = judge.method


def supported_accuracy(accuracy: float | None, faithfulness: float | None) -> float | None:
    """A right answer's credit times the share of its claims the knowledge base supports; 0 for a wrong answer,
    whatever it says: faithfulness is a risk measured on the answers that answer, never a reward of its own (a
    copied passage or a bare citation is faithful and answers nothing). A right answer with no checkable claim
    keeps its credit (it said nothing unsupported). None where accuracy is not measured."""
    if accuracy is None or math.isnan(accuracy):
        return None
    if accuracy == 0:
        return 0.0
    return accuracy * (1.0 if faithfulness is None or math.isnan(faithfulness) else faithfulness)


def _citations(s: _Set, ctx: Context) -> None:
    """Whether each answer cites the sources it was shown, and whether what it cites supports it."""
    checker = ctx.claim_checker()
    for sc, extra, answer, rs in zip(s.scores, s.extra, s.answers, s.retrieved):
        found = citation_scores(answer, [(r.chunk.id, r.chunk.text) for r in rs], checker)
        sc["citation_rate"], sc["citation_precision"] = found["citation_rate"], _none(found["citation_precision"])
        extra["cited_ids"] = found["cited_ids"]


def _none(value: float | None) -> float | None:
    """A score that was not measured (None or NaN) as None, which the means and intervals leave out."""
    return None if value is None or math.isnan(value) else value


def _correctness(s: _Set, ctx: Context) -> None:
    """Judged answer correctness against the reference, where the run has a judge (--judge); else the
    column stays empty (not measured): the offline scorer has no way to judge it."""
    judged = getattr(ctx.faithfulness(), "correctness_many", None)  # RagasJudge has it, OfflineFaithfulness not
    if judged is None:
        return
    for sc, value in zip(s.scores, judged(s.answers, [i.reference for i in s.items])):
        sc["answer_correctness"] = _none(value)


def _retrieval_quality(s: _Set, k: int) -> None:
    docs = {d.id: d for d in s.corpus}
    for item, rs, sc in zip(s.items, s.retrieved, s.scores):
        if not item.gold_doc_ids:  # a free-form item without gold documents: retrieval is not measured on it
            sc.update(hit_at_k=None, gold_recall_at_k=None, context_recall=None, context_precision=None)
            continue
        gold = [passage(docs[g]) for g in item.gold_doc_ids if g in docs]
        sc.update(retrieval_scores([r.chunk.doc_id for r in rs], [r.chunk.text for r in rs], item.gold_doc_ids,
                                   gold, k))


def _mc_accuracy(model: Any, s: _Set, ctx: Context, system: str, out: dict[str, Any], precision: str) -> None:
    """Log-likelihood multiple choice over the same prompt the strategy answered (sources included)."""
    if not has_choices(s.items):
        out["mc_accuracy"] = out["mc_accuracy_norm"] = math.nan  # no distractors: nothing to choose between
        return
    queries = [c[-1]["content"] for c in s.convs]
    # the prompts' keys and values from answering them: each context is not run a second time
    scores = mc_scores(model, ctx.tokenizer(), mc_records(s.items, queries), system, states=s.states,
                       precision=precision)
    s.states = {}
    for sc, (acc, acc_norm) in zip(s.scores, scores):
        sc["mc_accuracy"], sc["mc_accuracy_norm"] = acc, acc_norm


def has_choices(items: list[EvalItem]) -> bool:
    """Multiple choice needs the reference and three wrong options on every item."""
    return all(len(i.wrong_options) == 3 for i in items)


def _sample(s: _Set, n: int) -> dict[str, Any]:
    item = s.items[n]
    rs = s.retrieved[n]
    return {
        "eval_set": s.label, "item_id": item.id, "question": item.question, "reference": item.reference,
        "answer": s.answers[n], "prompt": s.convs[n][-1]["content"],
        "retrieved_ids": [r.chunk.id for r in rs], "retrieved_doc_ids": [r.chunk.doc_id for r in rs],
        "retrieved_texts": [r.chunk.text for r in rs],
        "gold_doc_ids": list(item.gold_doc_ids), "changed": item.changed, "slice": s.slices[n],
        "scores": s.scores[n], **s.extra[n],
    }
