"""Business-flow scorer: the first JSON object in the answer, compared field by field."""

from __future__ import annotations

import json
import math
from typing import Any

from harness.data import EvalItem, TrainItem
from harness.scorers.base import scorer


def first_json_object(text: str) -> dict[str, Any] | None:
    """The first parseable JSON object in `text`, tolerating prose or code fences around it."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            obj, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


def stated_action(item: TrainItem) -> dict[str, Any] | None:
    """The action a past ticket shows: its expected_fields, else the JSON object its response is."""
    return item.expected_fields or first_json_object(item.response)


def same_value(a: Any, b: Any) -> bool:
    """Field values as the scorer compares them: strings trimmed and in any case, others exactly."""
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().lower() == b.strip().lower()
    return a == b


@scorer("business_flow", requires=("expected_fields",),
        metrics=("accuracy", "json_valid_rate", "field_accuracy"))
def score_business_flow(answer: str, item: EvalItem) -> dict[str, float]:
    """Headline: the whole action right (every expected field); also JSON validity (its mean over items is
    the validity rate) and the share of right fields (0 when no JSON object parses)."""
    expected = item.expected_fields or {}
    if not expected:
        return {"accuracy": math.nan, "json_valid_rate": float(first_json_object(answer) is not None),
                "field_accuracy": math.nan}  # nothing expected: the action cannot be judged
    obj = first_json_object(answer)
    if obj is None:
        return {"accuracy": 0.0, "json_valid_rate": 0.0, "field_accuracy": 0.0}
    right = sum(same_value(obj.get(k), v) for k, v in expected.items())
    return {
        "accuracy": float(right == len(expected)),
        "json_valid_rate": 1.0,
        "field_accuracy": right / len(expected),
    }
