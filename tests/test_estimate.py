"""The plan line `harness run` prints before the first cell: sizes from the plan, a time only where its basis applies."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.run.estimate import BASES, Plan, describe, estimate
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
    line = describe(Plan(cells=18, cached=0, train_cells=9, max_steps=756, items=864, seconds=1500, seconds_cap=2900,
                         basis=BASES["bfloat16"].name))
    assert "about 25 min (at most 49 if every adapter trains to its cap)" in line and "bench/README.md" in line


def test_the_basis_follows_the_precision_the_cpu_computes_in(tiny_llama: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A CPU with native bf16 trains and answers in bf16; one without runs fp32, about twice as slow: each
    gets the basis measured in its own precision, named in the line."""
    import harness.models as models

    opts = options(tiny_llama, tmp_path / "r", ["baseline", "lora"])
    cells = plan(opts)
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    native = estimate(opts, cells, set(), params=135e6)
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: False)
    fp32 = estimate(opts, cells, set(), params=135e6)
    assert native.basis == BASES["bfloat16"].name and fp32.basis == BASES["float32"].name
    assert fp32.seconds > 1.5 * native.seconds > 0 and fp32.seconds_cap >= fp32.seconds
    assert "without native bf16 (bench/run-fp32" in describe(fp32)
    assert (fp32.cells, fp32.items, fp32.max_steps) == (native.cells, native.items, native.max_steps)
    monkeypatch.setattr(models, "answer_precision", lambda choice, device: "float16")
    none = estimate(opts, cells, set(), params=135e6)
    assert none.seconds is None and describe(none).endswith("this CPU computes in float16, which none measured)")
