"""The plan line `harness run` prints before the first cell: sizes from the plan, a time only where its basis applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.estimate import Plan, describe, estimate
from harness.run.matrix import plan
from test_matrix import options


def test_the_plan_counts_cells_steps_and_items(tiny_llama: Path, tmp_path: Path) -> None:
    opts = options(tiny_llama, tmp_path / "r", ["baseline", "lora", "hybrid"])
    cells = plan(opts)
    sizes = opts.scenarios[0].sizes("smoke")  # multi_fact_qa: eval and its corpus update, 8 training items
    p = estimate(opts, cells, set(), params=1e6)
    assert (p.cells, p.cached, p.train_cells) == (3, 0, 1)
    assert p.max_steps == 4  # smoke: 2 epochs of 8 items at batch 4
    assert p.items == 3 * 2 * sizes.eval + 2 * min(sizes.train, 24)  # hybrid and lora answer their own items too
    assert p.seconds is None  # a 1M-parameter model is not the basis' 135M one: no time, never a guess
    assert describe(p).endswith("does not apply)")
    cached = estimate(opts, cells, {c.key for c in cells}, params=1e6)
    assert (cached.cached, cached.train_cells, cached.items) == (3, 0, 0)


def test_the_line_names_its_basis() -> None:
    line = describe(Plan(cells=18, cached=0, train_cells=9, max_steps=756, items=864, seconds=1500, seconds_cap=2900))
    assert "about 25 min (at most 49 if every adapter trains to its cap)" in line and "bench/README.md" in line


def test_no_time_where_the_cpu_computes_in_another_precision(tiny_llama: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The basis CPU trained and answered in bf16; one without native bf16 runs fp32, about twice as slow."""
    import harness.models as models

    opts = options(tiny_llama, tmp_path / "r", ["baseline", "lora"])
    cells = plan(opts)
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    native = estimate(opts, cells, set(), params=135e6)
    assert native.seconds is not None and native.seconds_cap >= native.seconds > 0
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: False)
    fp32 = estimate(opts, cells, set(), params=135e6)
    assert fp32.seconds is None and fp32.seconds_cap is None
    assert describe(fp32).endswith("this one computes in float32, which it did not measure)")
    assert (fp32.cells, fp32.items, fp32.max_steps) == (native.cells, native.items, native.max_steps)
