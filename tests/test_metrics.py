"""The metric table: every view is derived from it, and adding a metric is one entry plus its scorer."""

from __future__ import annotations

import pytest

import harness.metrics as metrics
from harness.compare import pairwise
from harness.data import EvalItem
from harness.metrics import METRICS, Metric, register_metric
from harness.results import columns, to_frame, with_intervals
from harness.scorers import SCORERS
from harness.scorers.base import scorer
from harness.views import summary_table


def test_the_derived_views_are_the_ones_the_code_used_to_spell_out() -> None:
    assert metrics.intervals() == {"accuracy": ("eval", "accuracy"), "accuracy_updated": ("update", "accuracy"),
                                   "train_accuracy": ("train", "accuracy"), "faithfulness": ("eval", "faithfulness"),
                                   "supported_accuracy": ("eval", "supported_accuracy"),
                                   "groundedness": ("eval", "groundedness"),
                                   "answer_correctness": ("eval", "answer_correctness"),
                                   "mc_accuracy": ("eval", "mc_accuracy"),
                                   "mc_accuracy_norm": ("eval", "mc_accuracy_norm"),
                                   "keyfact_loglik": ("eval", "keyfact_loglik")}
    assert metrics.compared() == ("accuracy", "accuracy_updated", "faithfulness", "supported_accuracy", "groundedness",
                                  "answer_correctness", "mc_accuracy", "mc_accuracy_norm", "keyfact_loglik")
    assert metrics.over_seeds() == ("accuracy", "accuracy_updated", "train_accuracy", "faithfulness",
                                    "supported_accuracy", "groundedness", "mc_accuracy", "mc_accuracy_norm",
                                    "keyfact_loglik", "train_seconds", "peak_memory_mb", "seconds_per_answer",
                                    "latency_p95_s")
    assert list(metrics.headlines()) == ["accuracy", "accuracy_updated", "train_accuracy", "faithfulness",
                                         "supported_accuracy", "groundedness", "answer_correctness", "mc_accuracy",
                                         "mc_accuracy_norm", "keyfact_loglik", "accuracy_seen", "accuracy_composed",
                                         "accuracy_unseen", "accuracy_changed"]
    assert [m.short for m in metrics.shown()] == ["accuracy", "acc_updated", "train_acc", "faithful", "supp_acc",
                                                  "grounded", "mc_acc", "mc_norm", "recog", "hit_at_k", "gold_rec",
                                                  "train_s", "peak_mb", "s/answer", "p95_wait", "cites"]
    assert [m.name for m in metrics.sliced()] == ["accuracy_seen", "accuracy_composed", "accuracy_unseen",
                                                  "accuracy_changed"]


def test_every_scorer_returns_only_declared_metrics() -> None:
    item = EvalItem(id="x", question="q?", reference="KP-1 from Pellam, 12 working days", gold_doc_ids=["d"],
                    required_facts=["KP-1", "12 working days"], required_terms=["flow cartridge"],
                    expected_fields={"category": "returns"})
    for name in SCORERS:
        s = SCORERS.get(name)
        out = s("KP-1 ships in 12 working days {\"category\": \"returns\"}", item)
        assert s.metrics[0] == "accuracy" and set(out) <= set(s.metrics), name
        assert all(m in METRICS for m in s.metrics), name


def test_a_scorer_metric_must_be_declared() -> None:
    with pytest.raises(ValueError, match="undeclared: answer_chars"):
        scorer("bad", metrics=("accuracy", "answer_chars"))
    with pytest.raises(ValueError, match="is the column accuracy_updated"):
        Metric("accuracy_after", "x", "quality", "update", key="accuracy")


@pytest.fixture
def isolated_registries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(METRICS, "_items", dict(METRICS._items))
    monkeypatch.setattr(SCORERS, "_items", dict(SCORERS._items))


def test_adding_a_metric_is_one_entry_plus_its_scorer(isolated_registries: None) -> None:
    """The example for the structure issue: `answer_words` flows into the results columns, its interval,
    the paired tests, the seed summary and the summary table without touching any of them."""
    register_metric(Metric("answer_words", "words in the answer", "quality", "eval", higher_is_better=False,
                           digits=1, interval=True, compared=True, short="words", report="words"))

    @scorer("words", metrics=("accuracy", "answer_words"))
    def score_words(answer: str, item: EvalItem) -> dict[str, float]:
        return {"accuracy": float(item.reference in answer), "answer_words": float(len(answer.split()))}

    item = EvalItem(id="i", question="q", reference="yes", gold_doc_ids=["d"])
    rows, samples = [], []
    for strategy, answers in (("a", ["yes", "yes it is"] * 6), ("b", ["yes " * 9] * 12)):
        scores = [SCORERS.get("words")(ans, item) for ans in answers]
        samples += [{"scenario": "sc", "strategy": strategy, "eval_set": "eval", "item_id": f"i{n}", "scores": sc}
                    for n, sc in enumerate(scores)]
        rows.append({"scenario": "sc", "strategy": strategy, "seed": 0, "status": "ok", "model": "m",
                     "memory_kind": "cpu_rss", "answer_words": sum(s["answer_words"] for s in scores) / len(scores)})
    assert {"answer_words", "answer_words_ci_low", "answer_words_ci_high"} <= set(columns())
    frame = to_frame([with_intervals(r, [s for s in samples if s["strategy"] == r["strategy"]]) for r in rows])
    a = frame.set_index("strategy").loc["a"]
    assert a["answer_words"] == 2.0 and a["answer_words_ci_low"] < 2.0 < a["answer_words_ci_high"]
    tests = pairwise(frame, samples)
    words = tests[tests["metric"] == "answer_words"].iloc[0]
    assert (words["mean_a"], words["mean_b"], bool(words["significant"])) == (2.0, 9.0, True)
    assert "answer_words" in metrics.over_seeds() and "answer_words" in metrics.headlines()
    table = summary_table(frame)
    assert "words" in table.splitlines()[0].split() and " 9.0" in table
