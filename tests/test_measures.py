"""Each column measures what its name says (issue 27): hedging, SQuAD normalisation, gold recall, citations."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.data import EvalItem
from harness.retrieval_metrics import gold_recall_at_k, hit_at_k
from harness.scorers import SCORERS

ITEM = EvalItem(id="mf-001", question="How many working days does it take to get KP-8886 from the company that makes it?",
                reference="KP-8886 is supplied by Pellam Components, whose lead time is 32 working days.",
                gold_doc_ids=["MF-P001", "MF-S07"], required_facts=["KP-8886", "Pellam Components", "32 working days"])


def test_a_hedged_answer_gets_no_credit_for_the_facts_it_hedges() -> None:
    facts = SCORERS.get("facts")
    hedged = facts("KP-8886: it could be Pellam Components or Orvik Seals; lead time 10, 25 or 32 working days.", ITEM)
    # both facts the question does not give are hedged (KP-8886, which it gives, earns nothing)
    assert hedged == {"accuracy": 0.0, "fact_recall": 0.0, "hedge_rate": 1.0,
                      "token_f1": pytest.approx(hedged["token_f1"])}
    plain = facts("KP-8886 is supplied by Pellam Components, whose lead time is 32 working days.", ITEM)
    assert (plain["accuracy"], plain["fact_recall"], plain["hedge_rate"]) == (1.0, 1.0, 0.0)
    # a range hedges too; another name that is no alternative ("in Hamburg or Berlin") does not
    assert facts("KP-8886 from Pellam Components, in 30 to 32 working days.", ITEM)["hedge_rate"] == 1.0
    assert facts("KP-8886 comes from Pellam Components in Hamburg or Berlin, in 32 working days.",
                 ITEM)["accuracy"] == 1.0


def test_exact_match_and_token_f1_normalise_as_squad_does() -> None:
    item = EvalItem(id="x", question="Who supplies it?", reference="Pellam Components", gold_doc_ids=[])
    assert SCORERS.get("exact_match")("Pellam Components.", item)["accuracy"] == 1.0
    assert SCORERS.get("exact_match")("The Pellam components!", item)["accuracy"] == 1.0
    # articles and punctuation are not tokens: "the" no longer dilutes F1
    assert SCORERS.get("token_f1")("the Pellam Components", item)["token_f1"] == 1.0


def test_gold_recall_counts_every_gold_document() -> None:
    """hit@k counts a two-document question with one found as a hit; gold recall@k says 0.5."""
    assert hit_at_k(["MF-P001", "X", "Y"], ["MF-P001", "MF-S07"], 3) == 1.0
    assert gold_recall_at_k(["MF-P001", "X", "Y"], ["MF-P001", "MF-S07"], 3) == 0.5
    assert gold_recall_at_k(["MF-S07", "MF-P001"], ["MF-P001", "MF-S07"], 2) == 1.0
    assert math.isnan(gold_recall_at_k(["A"], [], 1))


@pytest.fixture(scope="module")
def checker():  # noqa: ANN201
    from harness.faithfulness import OfflineFaithfulness
    from harness.models import embedder_path
    from harness.retrieval import Embedder

    return OfflineFaithfulness(Embedder(embedder_path()).encode)


SOURCES = [("MF-P001", "Catalogue entry KP-8886: KP-8886 is sourced from Pellam Components."),
           ("MF-S07", "Supplier profile: Pellam Components: Standard lead time: 32 working days."),
           ("MF-S11", "Supplier profile: Ilsted Metalworks: Standard lead time: 6 working days.")]


def test_a_citing_answer_is_counted_and_its_citations_checked(checker) -> None:  # noqa: ANN001
    from harness.citations import cited_ids, citation_scores

    right = "KP-8886 comes from Pellam Components [MF-P001]. Its lead time is 32 working days [MF-S07]."
    assert cited_ids(right, [s for s, _ in SOURCES]) == ["MF-P001", "MF-S07"]
    assert citation_scores(right, SOURCES, checker) == {"citation_rate": 1.0, "citation_precision": 1.0,
                                                        "cited_ids": ["MF-P001", "MF-S07"]}
    # the lead time cited to the wrong supplier's profile: one of two citations supports what it is cited for
    wrong = "KP-8886 comes from Pellam Components [MF-P001]. Its lead time is 32 working days [MF-S11]."
    assert citation_scores(wrong, SOURCES, checker)["citation_precision"] == 0.5
    # citations standing apart vouch for the whole answer; an answer citing nothing has no precision
    apart = "KP-8886 comes from Pellam Components, lead time 32 working days.\n[MF-S07, MF-P001]"
    assert citation_scores(apart, SOURCES, checker)["citation_rate"] == 1.0
    none = citation_scores("KP-8886 comes from Pellam Components.", SOURCES, checker)
    assert none["citation_rate"] == 0.0 and math.isnan(none["citation_precision"])
    assert cited_ids("see [KP-8886] and [1]", [s for s, _ in SOURCES]) == []  # only ids it was shown


def test_every_prompt_with_sources_asks_for_citations_and_raft_learns_to_give_them() -> None:
    from harness.prompts import SOURCE_FORMS, cite, with_sources

    for form in SOURCE_FORMS:
        user = with_sources("S", "Q?", [("MF-P001", "text")], form)[-1]["content"]
        assert user.endswith("give the ids of the sources you used in square brackets, like [MF-P001].")
    assert cite(["MF-P001", "MF-S07"]) == " [MF-P001] [MF-S07]" and cite([]) == ""


def test_a_scenario_may_choose_rags_layout_without_the_citation_request(tmp_path: Path) -> None:
    """The citation request made the 135M model write a citation instead of an answer: a scenario's rag_prompt
    (chosen on its train split) may drop it, and RAFT then trains on prompts and targets without citations."""
    from dataclasses import replace

    from harness.cell import CellTask
    from harness.config import load_scenario
    from harness.profiles import get_profile
    from harness.prompts import with_sources
    from harness.strategies.raft import raft_examples

    ROOT = Path(__file__).resolve().parent.parent
    user = with_sources("S", "Q?", [("MF-P001", "text")], "instruction_last", cite=False)[-1]["content"]
    assert user == "Sources:\n[MF-P001] text\n\nQuestion: Q?\n\nUsing the sources, do this: S"
    sc = load_scenario(ROOT / "scenarios" / "multi_fact_qa.yaml")
    assert sc.spec.rag_prompt is not None  # the built-ins record their choice (bench/decoding.py)
    for cite in (True, False):
        spec = sc.spec.model_copy(update={"rag_prompt": sc.spec.rag_prompt.model_copy(update={"cite": cite})})
        task = CellTask(replace(sc, spec=spec), get_profile("smoke"), None, None, 0, tmp_path, None, {})  # type: ignore[arg-type]
        prompt, target = raft_examples(task)[0]
        asks = "square brackets" in prompt[-1]["content"]
        assert asks == cite and ("[MF-" in target) == cite


def test_computed_tokens_count_the_shared_prefix_once(tiny_llama) -> None:  # noqa: ANN001
    """Throughput counts the tokens the forwards computed: with the shared prefix, fewer than the examples'."""
    from dataclasses import replace

    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.prompts import closed_book
    from harness.training import TrainConfig, attach_lora, train

    ref = resolve_model(str(tiny_llama))
    tok = load_tokenizer(ref)
    examples = [(closed_book("A long shared system prompt for every example.", f"Q{i}?"), f"A{i}.") for i in range(4)]
    cfg = TrainConfig(steps=2, batch_size=4, lr=1e-3, r=4, alpha=8, dropout=0.0)
    runs = {}
    for share in (True, False):
        c = replace(cfg, share_prefix=share)
        model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), c, quantized=False, seed=0)
        runs[share] = train(model, tok, examples, c, seed=0, device="cpu")
    assert runs[False].tokens == runs[False].example_tokens == runs[True].example_tokens
    assert runs[True].tokens < runs[True].example_tokens


@pytest.mark.slow
def test_the_same_cell_measures_its_own_memory_whatever_ran_before(tmp_path, tiny_llama, monkeypatch) -> None:  # noqa: ANN001
    """Each cell in a process of its own (the CPU default): the baseline cell's peak within 10% whether it runs
    alone or after rag and lora, which load an embedder, an index and a trainer's memory."""
    from harness.run import run_matrix
    from test_matrix import options

    peaks = {}
    for name, strategies in (("alone", ["baseline"]), ("after", ["rag", "lora", "baseline"])):
        monkeypatch.setenv("HARNESS_CACHE_DIR", str(tmp_path / f"cache-{name}"))
        frame = run_matrix(options(tiny_llama, tmp_path / name, strategies, isolate=True)).set_index("strategy")
        assert (frame["status"] == "ok").all(), frame["error"].tolist()
        peaks[name] = float(frame.loc["baseline", "peak_memory_mb"])
    assert abs(peaks["after"] / peaks["alone"] - 1) < 0.10, peaks


def test_a_request_on_a_cpu_is_timed_in_the_weights_own_dtype(tiny_llama) -> None:  # noqa: ANN001
    """Batched answers may autocast fp32 weights to bf16; one request at a time is timed without the per-forward
    cast of every weight (a server keeps the dtype it serves); fp32 answers stay fp32."""
    from transformers import AutoModelForCausalLM

    from harness.generation import serving_precision

    model = AutoModelForCausalLM.from_pretrained(tiny_llama)
    assert serving_precision(model, "bfloat16") == "float32"
    assert serving_precision(model, "float32") == "float32"
