"""Every scorer on hand-written answers, tricky ones included: the numbers the table reports mean what they say."""

from __future__ import annotations

import pytest

from harness.data import EvalItem
from harness.scorers import SCORERS
from harness.scorers.business_flow import first_json_object
from harness.scorers.text_match import rouge_l, token_f1


def _item(**kw) -> EvalItem:
    base = {"id": "x", "question": "q", "reference": "r", "gold_doc_ids": ["D1"]}
    return EvalItem(**{**base, **kw})


MF = _item(reference="KP-8886 is supplied by Pellam Components, whose lead time is 32 working days.",
           required_facts=["Pellam Components", "32 working days"])


@pytest.mark.parametrize(("answer", "accuracy", "recall"), [
    ("KP-8886 is supplied by Pellam Components, whose lead time is 32 working days.", 1.0, 1.0),
    # the right facts in other words, other case, another spelling of the unit
    ("Order from PELLAM COMPONENTS; expect 32 business days.", 1.0, 1.0),
    # right number, wrong unit: not the fact
    ("Pellam Components, 32 weeks.", 0.0, 0.5),
    # a number that merely contains the right one
    ("Pellam Components quotes 132 working days.", 0.0, 0.5),
    ("Pellam Seals, 32 working days.", 0.0, 0.5),
    ("", 0.0, 0.0),
])
def test_facts(answer: str, accuracy: float, recall: float) -> None:
    s = SCORERS.get("facts")(answer, MF)
    assert (s["accuracy"], s["fact_recall"]) == (accuracy, recall)
    assert 0.0 <= s["token_f1"] <= 1.0


def test_facts_normalise_thousands_and_units() -> None:
    item = _item(required_facts=["2,000 h"])
    assert SCORERS.get("facts")("Inspect it every 2000 running hours.", item)["accuracy"] == 1.0
    assert SCORERS.get("facts")("Inspect it every 2000 minutes.", item)["accuracy"] == 0.0


VV = _item(reference="Inspect the KV-4410 flow cartridge every 2,000 h.", required_facts=["KV-4410", "2,000 h"],
           required_terms=["flow cartridge"], forbidden_terms=["valve insert", "hours"])


@pytest.mark.parametrize(("answer", "accuracy", "recall", "terms"), [
    ("Inspect the KV-4410 flow cartridge every 2,000 h.", 1.0, 1.0, 1.0),
    # facts right, but in field wording: the fact counts, the house style does not
    ("Inspect the KV-4410 valve insert every 2000 hours.", 0.0, 1.0, 0.0),
    # house term used, but a forbidden synonym too
    ("The KV-4410 flow cartridge (valve insert) is checked every 2,000 h.", 0.0, 1.0, 0.0),
    # house style, wrong figure
    ("Inspect the KV-4410 flow cartridge every 2,500 h.", 0.0, 0.5, 1.0),
])
def test_vocabulary(answer: str, accuracy: float, recall: float, terms: float) -> None:
    s = SCORERS.get("vocabulary")(answer, VV)
    assert (s["accuracy"], s["fact_recall"], s["term_accuracy"]) == (accuracy, recall, terms)


BF = _item(expected_fields={"category": "warranty_claim", "priority": "high", "policy_id": "POL-112"})


@pytest.mark.parametrize(("answer", "accuracy", "valid", "fields"), [
    ('{"category": "warranty_claim", "priority": "high", "policy_id": "POL-112"}', 1.0, 1.0, 1.0),
    # JSON wrapped in prose and a code fence, keys in another order, case differs, an extra key
    ('Sure! ```json\n{"policy_id": "pol-112", "priority": "High", "category": "warranty_claim", "note": 1}\n``` Done.',
     1.0, 1.0, 1.0),
    ('{"category": "warranty_claim", "priority": "low", "policy_id": "POL-112"}', 0.0, 1.0, 2 / 3),
    ('{"category": "warranty_claim", "priority": "high"', 0.0, 0.0, 0.0),  # truncated: not JSON
    ("category: warranty_claim, priority: high", 0.0, 0.0, 0.0),
])
def test_business_flow(answer: str, accuracy: float, valid: float, fields: float) -> None:
    s = SCORERS.get("business_flow")(answer, BF)
    assert s["accuracy"] == accuracy and s["json_valid_rate"] == valid
    assert s["field_accuracy"] == pytest.approx(fields)


def test_first_json_object_skips_non_objects_and_broken_braces() -> None:
    assert first_json_object('use {braces} then [1, 2] then {"a": {"b": 2}}') == {"a": {"b": 2}}
    assert first_json_object("no json here") is None


def test_exact_match_normalises_case_space_and_units() -> None:
    item = _item(reference="Lead time: 32 working days.")
    assert SCORERS.get("exact_match")("lead time:  32 business days.", item)["accuracy"] == 1.0
    assert SCORERS.get("exact_match")("Lead time: 33 working days.", item)["accuracy"] == 0.0
    assert SCORERS.get("exact_match")("Pellam Components", _item(reference="Pellam Components."))["accuracy"] == 1.0


def test_token_f1_known_values() -> None:
    assert token_f1("the cat sat", "the cat sat") == 1.0
    # SQuAD's normalisation drops articles: "the cat sat" counts two tokens, so P = 1, R = 1/2
    assert token_f1("cat", "the cat sat") == pytest.approx(2 * 1 * (1 / 2) / (1 + 1 / 2))
    assert token_f1("Pellam Components.", "pellam components") == 1.0
    assert token_f1("dog", "the cat") == 0.0


def test_rouge_l_rewards_order_unlike_token_f1() -> None:
    ref = "ship the replacement part today"
    shuffled = "today part replacement the ship"
    assert token_f1(shuffled, ref) == 1.0
    # articles dropped (SQuAD): 4 tokens each, the shuffle's LCS is 1 token: P = R = 1/4
    assert rouge_l(shuffled, ref) == pytest.approx(0.25)
    assert rouge_l("ship the part today", ref) == pytest.approx(2 * 1.0 * 0.75 / 1.75)
    s = SCORERS.get("rouge_l")("ship the part today", _item(reference=ref))
    assert s["accuracy"] == s["rouge_l"]


def test_every_scorer_reports_a_headline_accuracy() -> None:
    item = _item(reference="a", required_facts=["a"], required_terms=["a"], expected_fields={"a": 1})
    for name in SCORERS.names():
        assert "accuracy" in SCORERS.get(name)("a", item), name


def test_echoing_the_question_earns_no_recall_and_no_accuracy() -> None:
    """multi_fact_qa's fact_recall counted the part number the question gives: echoing it scored 0.33."""
    from harness.data import EvalItem
    from harness.scorers import SCORERS

    item = EvalItem(id="e", question="How many working days does it take to get KP-8886 from the company that makes it?",
                    reference="KP-8886 is supplied by Pellam Components, whose lead time is 32 working days.",
                    required_facts=["KP-8886", "Pellam Components", "32 working days"])
    facts = SCORERS.get("facts")
    echo = facts("The company that makes KP-8886 is a large corporation with a massive workforce.", item)
    assert echo["fact_recall"] == 0.0 and echo["accuracy"] == 0.0
    half = facts("KP-8886 comes from Pellam Components.", item)
    assert half["fact_recall"] == 0.5 and half["accuracy"] == 0.0  # of the two facts the question does not give
    right = facts("Pellam Components makes it; 32 working days.", item)
    assert right["fact_recall"] == 1.0 and right["accuracy"] == 1.0


def test_a_wrong_answer_in_the_references_wording_earns_no_correctness() -> None:
    """A help desk's reference scored by token F1 gave lora 0.37 for a wrong flag said in the references'
    wording; its key facts (the options the question does not give) give it nothing."""
    from harness.data import EvalItem
    from harness.keyfacts import key_facts
    from harness.scorers import SCORERS

    question, reference = "How do I skip the hooks for one commit?", "Use git commit -n (or --no-verify)."
    item = EvalItem(id="e", question=question, reference=reference, required_facts=key_facts(question, reference))
    assert item.required_facts == ["-n", "--no-verify"]
    wrong = SCORERS.get("facts")("Use git commit --fixup=<commit>, which continues committing after changes are "
                                 "made to the pre-commit hook.", item)
    assert wrong["accuracy"] == 0.0 and wrong["fact_recall"] == 0.0 and wrong["token_f1"] > 0.2
    right = SCORERS.get("facts")("Run git commit --no-verify, or -n for short.", item)
    assert right["accuracy"] == 1.0
