"""Bootstrap intervals and paired tests on cases whose answer is known."""

from __future__ import annotations

import pytest

from harness.results import with_intervals
from harness.stats import bootstrap_ci, paired_bootstrap_p


def test_interval_of_a_constant_is_the_constant() -> None:
    assert bootstrap_ci([1.0] * 24) == (1.0, 1.0)
    assert bootstrap_ci([0.0] * 24) == (0.0, 0.0)


def test_interval_brackets_the_mean_and_shrinks_with_more_items() -> None:
    small = bootstrap_ci([1, 0] * 12)
    large = bootstrap_ci([1, 0] * 500)
    assert small[0] < 0.5 < small[1]
    assert large[0] < 0.5 < large[1]
    assert (large[1] - large[0]) < (small[1] - small[0]) / 4
    # 24 items at 50%: the interval is roughly +-0.2 (normal approximation: 1.96 * sqrt(.25/24) = 0.2)
    assert small[0] == pytest.approx(0.3, abs=0.05) and small[1] == pytest.approx(0.7, abs=0.05)


def test_paired_test_tells_noise_from_a_difference() -> None:
    a = [1.0] * 20 + [0.0] * 4
    assert paired_bootstrap_p(a, a) == 1.0
    assert paired_bootstrap_p(a, [0.0] * 24) < 0.01  # 20 of 24 better: not noise
    one_apart = [1.0] * 11 + [0.0] * 13
    assert paired_bootstrap_p(one_apart, [1.0] * 10 + [0.0] * 14) > 0.5  # one item apart: noise
    with pytest.raises(ValueError):
        paired_bootstrap_p([1.0], [1.0, 0.0])


def test_rows_get_intervals_from_their_samples() -> None:
    samples = ([{"eval_set": "eval", "item_id": f"e{i}", "scores": {"accuracy": 1.0, "faithfulness": None}} for i in range(4)]
               + [{"eval_set": "update", "item_id": f"u{i}", "scores": {"accuracy": 0.0}} for i in range(4)])
    row = with_intervals({"accuracy": 1.0}, samples)
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == (1.0, 1.0)
    assert (row["accuracy_updated_ci_low"], row["accuracy_updated_ci_high"]) == (0.0, 0.0)
    assert "faithfulness_ci_low" not in row  # undefined for every item: no interval, not a made-up one
