"""The metric table: every number a results row carries, declared once.

A metric's name (its results column), the question set and per-item score it is the mean of, which
way is better, its display digits and labels, whether it gets a bootstrap interval and pairwise
tests: the results schema, the comparisons, the seed summary, the app's headline choices, the
report's evidence table and the terminal summary are all derived from here (as PEFT's
method_comparison derives its views from one table of metric preferences). Adding a metric is one
`register_metric(Metric(...))` plus the scorer that produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.registry import Registry

QuestionSet = Literal["eval", "update", "train"]
Group = Literal["quality", "retrieval", "cost", "training"]


def column(question_set: str, key: str, slice_: str | None = None) -> str:
    """The results column of a per-item score `key` averaged over a question set (or one slice of it)."""
    if slice_:
        return f"{key}_{slice_}"
    return {"eval": key, "update": f"{key}_updated", "train": f"train_{key}"}[question_set]


@dataclass(frozen=True)
class Metric:
    name: str  # the results column
    label: str  # how the app and the report name it
    group: Group
    question_set: QuestionSet | None = None  # the per-item mean of which set; None: measured, not scored per item
    key: str = ""  # the per-item score key in samples.jsonl (default: the name)
    higher_is_better: bool = True
    digits: int = 2
    interval: bool = False  # a 95% interval over items (Clopper-Pearson for 0/1, BCa else): <name>_ci_low / _ci_high
    compared: bool = False  # paired tests between strategies (exact McNemar or sign-flip; comparisons.parquet)
    short: str = ""  # its header in the terminal summary and a column of the report's evidence table ('' = neither)
    report: str = ""  # its header in the report's evidence table
    display: Literal["num", "ci", "gb", "min"] = "num"  # how the report writes it: value, value [CI], GB, minutes
    slice: str | None = None  # the mean over one slice of the question set (harness.slices) only

    @property
    def score_key(self) -> str:
        return self.key or self.name

    @property
    def shown(self) -> bool:
        return bool(self.short)

    def __post_init__(self) -> None:
        expected = column(self.question_set, self.score_key, self.slice) if self.question_set else self.name
        if expected != self.name:
            raise ValueError(f"metric {self.name}: the mean of '{self.score_key}' over the {self.question_set} set "
                             f"is the column {expected}")
        if (self.interval or self.compared) and not self.question_set:
            raise ValueError(f"metric {self.name}: intervals and tests need per-item scores (a question_set)")


METRICS: Registry[Metric] = Registry("metric")


def register_metric(metric: Metric) -> Metric:
    METRICS.register(metric.name)(metric)
    return metric


def get(name: str) -> Metric:
    return METRICS.get(name)


def all_metrics() -> list[Metric]:
    return [METRICS.get(n) for n in METRICS]


def intervals() -> dict[str, tuple[str, str]]:
    """column -> (question set, per-item score key) of every metric with a bootstrap interval."""
    return {m.name: (m.question_set, m.score_key) for m in all_metrics() if m.interval and m.question_set}


def compared() -> tuple[str, ...]:
    return tuple(m.name for m in all_metrics() if m.compared)


def headlines() -> dict[str, str]:
    """The metrics a reader picks as the headline (the app's heat map): those with an interval, then the slices."""
    return {m.name: m.label for m in all_metrics() if m.interval or m.slice}


def sliced() -> list[Metric]:
    """The per-slice accuracies (seen / composed / unseen, and changed on the update set), in table order."""
    return [m for m in all_metrics() if m.slice]


def shown() -> list[Metric]:
    """The columns of the terminal summary and the report's evidence table, in table order."""
    return [m for m in all_metrics() if m.shown]


def over_seeds() -> tuple[str, ...]:
    """Metrics summarised as mean and spread over seeds: the shown quality and cost figures."""
    return tuple(m.name for m in shown() if m.group in ("quality", "cost"))


def metric_columns() -> list[str]:
    """Every metric column of a results row, each interval metric followed by its bounds."""
    out = []
    for m in all_metrics():
        out.append(m.name)
        if m.interval:
            out += [f"{m.name}_ci_low", f"{m.name}_ci_high"]
    return out


# ----------------------------------------------------------------------------- the table
# quality, in the order the summary and the report show them
for _m in (
    Metric("accuracy", "accuracy (held out)", "quality", "eval", interval=True, compared=True,
           short="accuracy", report="accuracy [95% CI]", display="ci"),
    Metric("accuracy_updated", "accuracy after the corpus update", "quality", "update", key="accuracy",
           interval=True, compared=True, short="acc_updated", report="after update"),
    Metric("train_accuracy", "accuracy on own training items", "quality", "train", key="accuracy", interval=True,
           short="train_acc", report="on own training items"),
    Metric("faithfulness", "faithfulness: share of claims the knowledge base supports (the same evidence for every "
           "strategy)", "quality", "eval", interval=True, compared=True, short="faithful", report="faithfulness"),
    Metric("supported_accuracy", "supported accuracy: a right answer's credit times the share of its claims the "
           "knowledge base supports (0 for a wrong answer)", "quality", "eval", interval=True, compared=True,
           short="supp_acc", report="supported accuracy"),
    Metric("groundedness", "groundedness: share of claims the passages shown to a retrieving strategy support",
           "quality", "eval", interval=True, compared=True, short="grounded", report="groundedness"),
    Metric("answer_correctness", "answer correctness against the reference (ragas FactualCorrectness F1; --judge only)",
           "quality", "eval", interval=True, compared=True),
    Metric("mc_accuracy", "multiple-choice accuracy (lm-eval acc: summed log-likelihood)", "quality", "eval",
           interval=True, compared=True, short="mc_acc", report="MC accuracy"),
    Metric("mc_accuracy_norm", "multiple-choice accuracy, length-normalised (lm-eval acc_norm)", "quality", "eval",
           interval=True, compared=True, short="mc_norm", report="MC acc_norm"),
    Metric("keyfact_loglik", "recognition: mean log-likelihood per byte of the reference's key facts after the "
           "strategy's own prompt (nats; higher is better)", "quality", "eval", interval=True, compared=True,
           short="recog", report="recognition"),
    Metric("hit_at_k", "hit@k (any gold document among the retrieved)", "retrieval", "eval", short="hit_at_k",
           report="hit@k"),
    Metric("gold_recall_at_k", "gold recall@k (share of an item's gold documents among the retrieved)",
           "retrieval", "eval", short="gold_rec", report="gold recall@k"),
    Metric("train_seconds", "training time to fit (s)", "cost", higher_is_better=False, digits=0, short="train_s",
           report="training", display="min"),
    Metric("peak_memory_mb", "peak memory (MB): CPU resident set of the cell's own process; on CUDA what a card "
           "must hold (peak reserved + CUDA context)", "cost", higher_is_better=False, digits=0, short="peak_mb",
           report="peak memory", display="gb"),
    Metric("seconds_per_answer", "seconds per answer in a batch (throughput: a batch's time over its items)", "cost",
           higher_is_better=False, short="s/answer", report="s/answer (batched)"),
    Metric("latency_p95_s", "a request's wait, 95th percentile (questions asked one at a time, retrieval included)",
           "cost", higher_is_better=False, short="p95_wait", report="wait p95 (s)"),
    Metric("latency_p50_s", "a request's wait, median (questions asked one at a time, retrieval included)", "cost",
           higher_is_better=False),
    # accuracy per slice (harness.slices): is the score generalisation, or recall of what was trained?
    Metric("accuracy_seen", "accuracy on items one training response states whole", "quality", "eval",
           key="accuracy", slice="seen"),
    Metric("accuracy_composed", "accuracy on items whose pieces training states apart", "quality", "eval",
           key="accuracy", slice="composed"),
    Metric("accuracy_unseen", "accuracy on items training does not state", "quality", "eval", key="accuracy",
           slice="unseen"),
    Metric("accuracy_changed", "accuracy on update items whose answer changed", "quality", "update",
           key="accuracy", slice="changed"),
    # the scorers' sub-metrics (NaN where a scenario's scorer does not produce them)
    Metric("fact_recall", "share of required facts stated (a hedged fact not counting)", "quality", "eval"),
    Metric("hedge_rate", "share of answers naming more candidates of a fact's kind than asked (no credit)",
           "quality", "eval", higher_is_better=False),
    Metric("term_accuracy", "house terms used, no forbidden synonym", "quality", "eval"),
    Metric("json_valid_rate", "share of answers with a JSON object", "quality", "eval"),
    Metric("field_accuracy", "share of expected JSON fields right", "quality", "eval"),
    Metric("token_f1", "token F1 against the reference", "quality", "eval"),
    Metric("rouge_l", "ROUGE-L F1 against the reference", "quality", "eval"),
    Metric("citation_rate", "share of answers citing at least one of the sources they were shown", "retrieval",
           "eval", short="cites", report="cites"),
    Metric("citation_precision", "share of cited sources that support what they are cited for", "retrieval", "eval"),
    Metric("context_recall", "gold passages matched by a retrieved one (ragas)", "retrieval", "eval"),
    Metric("context_precision", "average precision of the retrieved passages (ragas)", "retrieval", "eval"),
    # what training and answering cost, measured
    Metric("train_tokens_per_s", "training tokens per second", "training"),
    Metric("train_steps", "optimizer steps", "training", digits=0),
    Metric("train_epochs", "passes over the training set (until the stopping rule ended training)", "training",
           digits=1),
    Metric("train_seconds_per_step", "seconds per optimizer step", "cost", higher_is_better=False),
    Metric("train_loss_first", "loss at the first step", "training", higher_is_better=False, digits=3),
    Metric("train_loss_last", "loss at the last step", "training", higher_is_better=False, digits=3),
    Metric("trainable_params", "trainable parameters", "training", digits=0),
    Metric("total_params", "parameters", "training", digits=0),
    Metric("train_peak_memory_mb", "peak memory while training (MB)", "cost", higher_is_better=False, digits=0),
    Metric("infer_peak_memory_mb", "peak memory while answering (MB)", "cost", higher_is_better=False, digits=0),
    # CUDA only (NaN on a CPU): the allocator's reserved and allocated peaks, and the context beside them
    Metric("peak_reserved_memory_mb", "peak CUDA memory reserved (MB)", "cost", higher_is_better=False, digits=0),
    Metric("peak_allocated_memory_mb", "peak CUDA memory allocated to tensors (MB)", "cost", higher_is_better=False,
           digits=0),
    Metric("train_allocated_memory_mb", "peak CUDA memory allocated while training (MB)", "cost",
           higher_is_better=False, digits=0),
    Metric("infer_allocated_memory_mb", "peak CUDA memory allocated while answering (MB)", "cost",
           higher_is_better=False, digits=0),
    Metric("cuda_context_mb", "CUDA context and other device memory beyond the allocator (MB)", "cost",
           higher_is_better=False, digits=0),
    Metric("train_reserved_memory_mb", "peak CUDA memory reserved while training (MB)", "cost",
           higher_is_better=False, digits=0),
    Metric("infer_reserved_memory_mb", "peak CUDA memory reserved while answering (MB)", "cost",
           higher_is_better=False, digits=0),
    Metric("infer_seconds", "seconds answering", "cost", higher_is_better=False),
    Metric("index_seconds", "seconds to build the retrieval index", "cost", higher_is_better=False),
    Metric("index_mb", "retrieval index size (MB)", "cost", higher_is_better=False),
    Metric("adapter_mb", "adapter size (MB)", "cost", higher_is_better=False),
):
    register_metric(_m)
