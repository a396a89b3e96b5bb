"""The offline faithfulness scorer: its parts on known cases, and its agreement with hand labels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.faithfulness import CALIBRATION, OfflineFaithfulness, check_items, content_items, split_claims
from harness.stats import agreement

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "datasets" / "faithfulness_calibration.jsonl"


@pytest.fixture(scope="module")
def scorer() -> OfflineFaithfulness:
    from harness.models import embedder_path
    from harness.retrieval import Embedder

    return OfflineFaithfulness(Embedder(embedder_path()).encode)


def test_claims_are_sentences_clauses_or_json_fields() -> None:
    assert split_claims("A is B. C is 4 h; D ships from E.") == [("A is B.", False), ("C is 4 h", False),
                                                                  ("D ships from E.", False)]
    assert split_claims('Result: {"category": "x", "note": ""}') == [("category: x", True)]
    assert split_claims("") == [] and split_claims("Ok.") == []


def test_content_items_are_codes_numbers_with_units_and_entities() -> None:
    assert content_items("KP-8886 is supplied by Pellam Components, whose lead time is 32 business days.") == [
        "KP-8886", "32 working days", "Pellam Components"]
    assert content_items("Adults take 300 to 600 mg.") == ["300", "600 mg"]  # "Adults" opens the claim: no entity


def test_a_figure_borrowed_from_a_distractor_passage_is_missing() -> None:
    passages = ["Supplier profile: Pellam Components: lead time 32 working days.",
                "Supplier profile: Pellam Seals: lead time 25 working days.", "KP-8886 is sourced from Pellam Components."]
    assert check_items(["KP-8886", "Pellam Components", "32 working days"], passages) == []
    assert check_items(["KP-8886", "Pellam Components", "25 working days"], passages) == ["25 working days"]


def test_scores_on_known_answers(scorer: OfflineFaithfulness) -> None:
    evidence = ["Supplier profile: Mardell Polymers: Mardell Polymers is an approved supplier. Standard lead time: "
                "38 working days from purchase order. Orders ship from the Tallis depot."]
    full, _ = scorer.score("Mardell Polymers has a lead time of 38 working days. Orders ship from Tallis.", evidence)
    half, verdicts = scorer.score("Mardell Polymers has a lead time of 38 working days. Orders ship from Wexley.", evidence)
    assert full == 1.0 and half == 0.5
    assert [v.supported for v in verdicts] == [True, False] and verdicts[1].missing == ["Wexley"]
    assert math.isnan(scorer.score("", evidence)[0])  # no claim: undefined, as in ragas


def test_agreement_with_the_labelled_calibration_set(scorer: OfflineFaithfulness) -> None:
    """The figures the report and the README quote are the ones measured here, to their two digits."""
    cases = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    categories = {c["category"] for c in cases}
    assert {"paraphrase", "wrong_number", "invented_entity", "partial"} <= categories
    predicted = [scorer.score(c["answer"], c["evidence"])[0] == 1.0 for c in cases]
    acc, kappa = agreement(predicted, [c["supported"] for c in cases])
    assert (len(cases), round(acc, 2), round(kappa, 2)) == (CALIBRATION.cases, CALIBRATION.accuracy,
                                                            CALIBRATION.kappa), (len(cases), acc, kappa)
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"accuracy {CALIBRATION.accuracy:.2f}, Cohen's kappa {CALIBRATION.kappa:.2f}" in readme.replace("**", "")


def test_agreement_statistics_on_known_cases() -> None:
    assert agreement([True, False, True, False], [True, False, True, False]) == (1.0, 1.0)
    acc, kappa = agreement([True, True, True, True], [True, False, True, False])
    assert acc == 0.5 and kappa == 0.0  # always saying "supported" agrees by chance only
