"""Slices from the data alone: seen, composed, unseen (and changed), on hand-made items and the built-ins."""

from __future__ import annotations

from harness.data import EvalItem, TrainItem
from harness.slices import assign, counts, slice_of


def train(*responses: str, **fields: object) -> list[TrainItem]:
    return [TrainItem(id=f"t{n}", instruction="q", response=r, **fields) for n, r in enumerate(responses)]


def item(**kw: object) -> EvalItem:
    return EvalItem(id="e", question="q", reference="r", gold_doc_ids=["d"], **kw)


def test_facts_seen_composed_unseen() -> None:
    pair = item(required_facts=["Pellam", "38 working days"])
    assert slice_of(pair, train("KP-8886 comes from Pellam, 38 working days.")) == "seen"
    assert slice_of(pair, train("KP-8886 comes from Pellam.", "Its lead time is 38 working days.")) == "composed"
    assert slice_of(pair, train("KP-8886 comes from Pellam.", "Tallis needs 12 days.")) == "unseen"
    # the scorers' normalisation: units and thousands separators in one spelling
    assert slice_of(item(required_facts=["2,000 h"]), train("Inspect every 2000 running hours.")) == "seen"


def test_house_terms_count_as_pieces() -> None:
    styled = item(required_facts=["75 N·m"], required_terms=["flow cartridge"])
    assert slice_of(styled, train("Torque the flow cartridge to 75 N·m.")) == "seen"
    assert slice_of(styled, train("Torque the valve insert to 75 N·m.", "A flow cartridge is a part.")) == "composed"


def test_business_flow_pieces_are_field_values() -> None:
    action = item(expected_fields={"category": "returns", "priority": "high", "approver": "Logistics"})
    past = '{"category": "returns", "priority": "high", "approver": "logistics"}'
    assert slice_of(action, train(past)) == "seen"  # compared as the scorer does: trimmed, any case
    apart = ['{"category": "returns", "priority": "low", "approver": "Logistics"}', '{"category": "x", "priority": "high"}']
    assert slice_of(action, train(*apart)) == "composed"
    assert slice_of(action, train('{"category": "returns"}')) == "unseen"
    # a past ticket may state its action as expected_fields instead of in the response
    assert slice_of(action, train("done", expected_fields={"category": "returns", "priority": "high",
                                                           "approver": "Logistics"})) == "seen"


def test_changed_update_items_are_their_own_slice() -> None:
    moved = item(required_facts=["Pellam"], changed=True)
    assert slice_of(moved, train("Pellam."), update=True) == "changed"
    assert slice_of(moved, train("Pellam."), update=False) == "seen"
    assert slice_of(item(required_facts=["Pellam"], changed=False), train("Pellam."), update=True) == "seen"


def test_a_scenario_without_overlap_is_all_unseen_and_free_form_items_use_the_reference() -> None:
    items = [EvalItem(id=f"e{n}", question="q", reference=f"answer {n}", gold_doc_ids=["d"]) for n in range(5)]
    assert counts(assign(items, train("nothing related", "still nothing"))) == {"seen": 0, "composed": 0, "unseen": 5}
    assert slice_of(items[2], train("it is answer 2, as logged")) == "seen"
