"""The built-in data: reproducible, and the knowledge really is only in the corpus."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from harness.config import Scenario, builtin_scenario_paths, load_scenario
from harness.slices import assign, counts
from harness.textnorm import contains, mentions

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {s.name: s for s in (load_scenario(p) for p in builtin_scenario_paths())}


def test_generator_rebuilds_committed_data_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "datasets" / "build.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True)
    hand_labelled = {Path("faithfulness_calibration.jsonl")}  # written by hand, not generated
    committed = sorted(p.relative_to(ROOT / "datasets") for p in (ROOT / "datasets").rglob("*.jsonl")
                       if p.relative_to(ROOT / "datasets") not in hand_labelled)
    rebuilt = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert committed == rebuilt and len(committed) == 11
    for rel in committed:
        assert filecmp.cmp(ROOT / "datasets" / rel, tmp_path / rel, shallow=False), rel


def _gold_text(s: Scenario, item_gold: list[str], corpus: list) -> str:
    docs = {d.id: d for d in corpus}
    return "\n".join(f"{docs[g].title}\n{docs[g].text}" for g in item_gold)


def _eval_sets(s: Scenario) -> list[tuple[list, list]]:
    sets = [(s.eval, s.corpus)]
    if s.eval_update:
        sets.append((s.eval_update, s.corpus_update))
    return sets


@pytest.mark.parametrize("name", ["vertical_vocabulary", "multi_fact_qa", "business_flow"])
def test_every_reference_is_derivable_from_its_gold_documents(scenarios: dict[str, Scenario], name: str) -> None:
    s = scenarios[name]
    checked = 0
    for items, corpus in _eval_sets(s):
        for item in items:
            gold = _gold_text(s, item.gold_doc_ids, corpus)
            needed = list(item.required_facts) + list(item.required_terms)
            needed += [str(v) for v in (item.expected_fields or {}).values()]
            assert needed, item.id
            for phrase in needed:
                assert contains(gold, phrase), (item.id, phrase)
                assert contains(item.reference, phrase), (item.id, phrase)
            for term in item.forbidden_terms:
                assert not mentions(item.reference, term), (item.id, term)
            checked += 1
    assert checked >= 180


def test_facts_are_not_in_the_eval_questions(scenarios: dict[str, Scenario]) -> None:
    """A question must not give its answer away: the answer-bearing facts need the corpus."""
    for s in scenarios.values():
        for item in s.eval:
            # the pump or part code is the question's subject
            hidden = [f for f in item.required_facts if not f.startswith(("KV-", "KP-"))]
            hidden += [str(v) for v in (item.expected_fields or {}).values()]
            for fact in hidden:
                assert not contains(item.question, fact), (s.name, item.id, fact)


def test_multi_fact_items_need_two_documents(scenarios: dict[str, Scenario]) -> None:
    """The part code (the question's subject) and the asked value never share a document: two hops."""
    s = scenarios["multi_fact_qa"]
    for items, corpus in _eval_sets(s):
        docs = {d.id: f"{d.title} {d.text}" for d in corpus}
        for item in items:
            assert len(set(item.gold_doc_ids)) >= 2
            code = next(w.strip("?.") for w in item.question.split() if w.startswith("KP-"))
            value = item.required_facts[-1]
            holding_code = {g for g in item.gold_doc_ids if contains(docs[g], code)}
            holding_value = {g for g in item.gold_doc_ids if contains(docs[g], value)}
            assert holding_code and holding_value and not holding_code & holding_value, item.id
            assert not any(contains(t, code) and contains(t, value) for t in docs.values()), item.id


def test_corpus_update_changes_some_answers(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["multi_fact_qa"]
    assert s.eval_update is not None and len(s.eval_update) == len(s.eval)
    changed = [u for u in s.eval_update if u.changed]
    assert 0.25 * len(s.eval) < len(changed) < 0.75 * len(s.eval)
    quick_changed = [u for u in s.eval_update_for("quick") if u.changed]
    assert len(quick_changed) >= 8
    for old, new in zip(s.eval, s.eval_update):
        assert old.question == new.question
        assert (old.reference != new.reference) == new.changed


def test_eval_questions_are_paraphrased_not_copied(scenarios: dict[str, Scenario]) -> None:
    for s in scenarios.values():
        train_prompts = {t.instruction.strip().lower() for t in s.train}
        for item in s.eval:
            assert item.question.strip().lower() not in train_prompts, (s.name, item.id)


def test_training_pairs_state_their_own_documents(scenarios: dict[str, Scenario]) -> None:
    """Training is written from the corpus: every piece a training pair is scored on is in its sources."""
    for s in scenarios.values():
        for t in s.train:
            gold = _gold_text(s, t.source_doc_ids, s.corpus)
            needed = list(t.required_facts) + list(t.required_terms) + [str(v) for v in (t.expected_fields or {}).values()]
            assert needed, t.id
            for phrase in needed:
                assert contains(gold, phrase), (s.name, t.id, phrase)


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_built_in_eval_sets_test_more_than_recall_of_trained_answers(scenarios: dict[str, Scenario],
                                                                    profile: str) -> None:
    """multi_fact_qa: no eval item is stated whole by one training pair; the others: at least 30% are not."""
    for s in scenarios.values():
        got = counts(assign(s.eval_for(profile), s.train_for(profile)))
        n = sum(got.values())
        if s.name == "multi_fact_qa":
            assert got["seen"] == 0 and got["composed"] > 0 and got["unseen"] > 0, got
        else:
            assert got["composed"] + got["unseen"] >= 0.3 * n and got["seen"] > 0, (s.name, got)
    upd = scenarios["multi_fact_qa"]
    assert counts(assign(upd.eval_update_for(profile), upd.train_for(profile), update=True))["seen"] == 0


def test_multi_fact_training_pairs_each_state_one_document(scenarios: dict[str, Scenario]) -> None:
    """A part's supplier, or one term of one supplier: never a part together with its supplier's terms."""
    s = scenarios["multi_fact_qa"]
    for t in s.train:
        assert len(t.source_doc_ids) == 1 and len(t.required_facts) == 2, t.id
        assert not ("KP-" in t.response and "working days" in t.response), t.id


def test_every_eval_item_has_three_distinct_wrong_options(scenarios: dict[str, Scenario]) -> None:
    for s in scenarios.values():
        for items, _ in _eval_sets(s):
            for item in items:
                assert len(set(item.wrong_options)) == 3, item.id
                assert item.reference not in item.wrong_options


def test_every_training_item_scores_right_on_its_own_response() -> None:
    """train_accuracy scores a model on its training items: their scorer fields must be consistent."""
    from harness.config import builtin_scenario_paths, load_scenario
    from harness.scorers import SCORERS

    for path in builtin_scenario_paths():
        scenario = load_scenario(path)
        scorer = SCORERS.get(scenario.spec.scorer)
        for t in scenario.train_for("full"):
            assert scorer(t.response, t.as_eval_item())["accuracy"] == 1.0, (scenario.name, t.id)
