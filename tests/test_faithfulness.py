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
    """The figures the report and the docs quote are the ones measured here, split by split, to two digits
    (bench/faithfulness_calibration.py chose the threshold on `tune` alone)."""
    cases = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    assert {"paraphrase", "wrong_number", "invented_entity", "partial", "json_field"} <= {c["category"] for c in cases}
    for split in ("tune", "holdout", "other_domain", "fresh", "inventions"):
        sub = [c for c in cases if c["split"] == split]
        predicted = [scorer.score(c["answer"], c["evidence"])[0] == 1.0 for c in sub]
        acc, kappa = agreement(predicted, [c["supported"] for c in sub])
        supported_wrongly = [p for p, c in zip(predicted, sub) if not c["supported"]]
        fs = sum(supported_wrongly) / len(supported_wrongly)
        want = getattr(CALIBRATION, split)
        assert (len(sub), round(acc, 2), round(kappa, 2), round(fs, 2)) == (
            want.cases, want.accuracy, want.kappa, want.false_support), (split, acc, kappa, fs)
    assert {c["domain"] for c in cases if c["split"] == "fresh"} == {"hr_policy", "it_helpdesk"}


@pytest.mark.parametrize("answer, evidence", [
    # the inventions the measures issue found supported, each against the evidence a strategy is scored on
    ("The company that makes KP-8886 is a large corporation with a massive workforce, and it takes a significant "
     "amount of time to produce a single KP-8886.",
     ["Catalogue entry KP-8886: KP-8886 is a valve spring used in Korrin pump assemblies. It is sourced from Pellam "
      "Components.", "Supplier profile: Pellam Components: Standard lead time: 32 working days from purchase order."]),
    ("Use git commit --fixup=<commit>, which continues committing after changes are made to the pre-commit hook.",
     ["Commit options: The --no-verify option, also written -n, bypasses the pre-commit and commit-msg hooks for one "
      "commit."]),
    ("Run git-merge-backoff -f -f to record a merge commit.",
     ["Merge options: The --no-ff option creates a merge commit even when the merge could be a fast-forward."]),
])
def test_inventions_that_share_the_evidence_words_are_not_supported(scorer: OfflineFaithfulness, answer: str,
                                                                    evidence: list[str]) -> None:
    value, verdicts = scorer.score(answer, evidence)
    assert value == 0.0, [v.as_dict() for v in verdicts]


def test_the_scorer_holds_no_word_of_the_built_in_scenarios() -> None:
    """The built-in domain's own vocabulary may not tune the scorer: its names (words capitalised mid-sentence
    in the built-in data: Korrin, Valve, Works, Pellam...), the capitalised words of its documents' titles
    (Supplier, Policy, House...) and the generic nouns the review found in the old stop-list (Pump, Part)."""
    import re

    source = (ROOT / "harness" / "faithfulness.py").read_text()
    data = [p.read_text() for p in (ROOT / "datasets").glob("*/*.jsonl")]
    names = set(re.findall(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b", " ".join(data)))
    titles = {w for text in data for line in text.splitlines() if '"title"' in line
              for w in re.findall(r"\b[A-Z][a-z]{2,}\b", json.loads(line)["title"])}
    vocabulary = names | titles | {"Pump", "Part"}
    assert {"Korrin", "Valve", "Works", "Supplier", "Policy"} <= vocabulary  # it finds what the old list had
    found = sorted(w for w in vocabulary if re.search(rf"\b{w}\b", source))
    assert not found, found


def test_a_number_followed_by_a_word_is_not_a_quantity_and_a_field_needs_its_key() -> None:
    """The issue's cases: "Version 3 supports SSO" is supported by "Version 3 of Acme Cloud adds SSO support";
    a JSON value counts only where the evidence states it for that field."""
    from harness.faithfulness import field_supported

    assert content_items("Version 3 supports SSO for Acme Cloud users.") == ["SSO", "3", "Acme Cloud"]
    assert check_items(["SSO", "3", "Acme Cloud"], ["Version 3 of Acme Cloud adds SSO support"]) == []
    quota = ["Email quota: Each mailbox has a quota of 50 GB. Attachments larger than 25 MB are blocked."]
    assert field_supported("quota_gb", "50", quota) and not field_supported("quota_gb", "25", quota)
    assert content_items("Hours beyond 40 per week are paid at 150%.") == ["40", "150%"]


def test_agreement_statistics_on_known_cases() -> None:
    assert agreement([True, False, True, False], [True, False, True, False]) == (1.0, 1.0)
    acc, kappa = agreement([True, True, True, True], [True, False, True, False])
    assert acc == 0.5 and kappa == 0.0  # always saying "supported" agrees by chance only
