"""The offline faithfulness scorer: its parts on known cases, and its agreement with hand labels."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from harness.faithfulness import OfflineFaithfulness, check_items, content_items, split_claims
from harness.stats import agreement

CALIBRATION = Path(__file__).resolve().parent.parent / "datasets" / "faithfulness_calibration.jsonl"
# reached with SIMILARITY_THRESHOLD = 0.5 (README, "Faithfulness"): accuracy 0.88, kappa 0.77 on 68 cases
MIN_ACCURACY, MIN_KAPPA = 0.85, 0.74


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
    cases = [json.loads(line) for line in CALIBRATION.read_text().splitlines() if line.strip()]
    assert len(cases) >= 60
    categories = {c["category"] for c in cases}
    assert {"paraphrase", "wrong_number", "invented_entity", "partial"} <= categories
    predicted = [scorer.score(c["answer"], c["evidence"])[0] == 1.0 for c in cases]
    acc, kappa = agreement(predicted, [c["supported"] for c in cases])
    assert acc >= MIN_ACCURACY and kappa >= MIN_KAPPA, (acc, kappa)


def test_agreement_statistics_on_known_cases() -> None:
    assert agreement([True, False, True, False], [True, False, True, False]) == (1.0, 1.0)
    acc, kappa = agreement([True, True, True, True], [True, False, True, False])
    assert acc == 0.5 and kappa == 0.0  # always saying "supported" agrees by chance only
