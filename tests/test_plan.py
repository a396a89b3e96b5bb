"""Planning and keys (pure, no model): which cells run, in what order, and when a result is reused."""

from __future__ import annotations

import dataclasses

import pytest

from harness.config import load_scenario, resolve_scenario_arg
from harness.models import DeviceInfo, ModelRef
from harness.profiles import get_profile
from harness.run.plan import cell_key, plan_cells, train_key

MODEL = ModelRef("tiny", "/models/tiny", "tiny@abc123")
CPU = DeviceInfo("cpu", "float32", "test cpu", 1024.0)


@pytest.fixture(scope="module")
def scenario():  # noqa: ANN201
    return load_scenario(resolve_scenario_arg("multi_fact_qa"))


def test_hybrid_pulls_lora_in_before_it_and_points_at_its_cell(scenario) -> None:  # noqa: ANN001
    cells = plan_cells([scenario], ["hybrid", "rag"], get_profile("smoke"), MODEL, [0], CPU)
    assert [c.strategy for c in cells] == ["lora", "hybrid", "rag"]
    lora, hybrid, rag = cells
    assert hybrid.deps == {"lora": lora.key} and rag.deps == {}
    assert lora.train_key and not hybrid.train_key and not rag.train_key  # only lora trains


def test_seeds_repeat_only_the_cells_that_depend_on_training(scenario) -> None:  # noqa: ANN001
    cells = plan_cells([scenario], ["baseline", "rag", "lora", "hybrid"], get_profile("smoke"), MODEL, [0, 1, 2], CPU)
    per_strategy = {s: [c.seed for c in cells if c.strategy == s] for s in ("baseline", "rag", "lora", "hybrid")}
    assert per_strategy == {"baseline": [0], "rag": [0], "lora": [0, 1, 2], "hybrid": [0, 1, 2]}
    assert len({c.key for c in cells}) == len(cells)
    for seed in (0, 1, 2):  # each seed's hybrid reuses that seed's adapter
        lora = next(c for c in cells if c.strategy == "lora" and c.seed == seed)
        hybrid = next(c for c in cells if c.strategy == "hybrid" and c.seed == seed)
        assert hybrid.deps == {"lora": lora.key}


def test_unknown_strategy_is_an_input_error(scenario) -> None:  # noqa: ANN001
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match="--strategy lorra: unknown strategy"):
        plan_cells([scenario], ["lorra"], get_profile("smoke"), MODEL, [0], CPU)


def test_a_scoring_change_keeps_the_adapter_key_and_changes_the_cell_key(scenario) -> None:  # noqa: ANN001
    smoke = get_profile("smoke")
    longer_answers = dataclasses.replace(smoke, max_new_tokens=smoke.max_new_tokens * 2, top_k=smoke.top_k + 1)
    base = train_key(scenario, "lora", smoke, MODEL, 0, CPU)
    assert train_key(scenario, "lora", longer_answers, MODEL, 0, CPU) == base
    # raft trains on prompts with top_k sources: for it, top_k is a training setting
    assert train_key(scenario, "raft", longer_answers, MODEL, 0, CPU) != train_key(scenario, "raft", smoke, MODEL, 0,
                                                                                    CPU)
    assert cell_key(scenario, "lora", smoke, MODEL, 0, CPU, {}) != cell_key(scenario, "lora", longer_answers, MODEL,
                                                                             0, CPU, {})
    assert cell_key(scenario, "lora", smoke, MODEL, 0, CPU, {}, scoring="claims-offline") != cell_key(
        scenario, "lora", smoke, MODEL, 0, CPU, {}, scoring="ragas-judge:x@http://h")
    # the answering precision is an evaluation setting; "auto" enters the key as what it resolved to here
    in_bf16, in_fp32 = (dataclasses.replace(smoke, answer_precision=p) for p in ("bf16", "fp32"))
    assert train_key(scenario, "lora", in_bf16, MODEL, 0, CPU) == train_key(scenario, "lora", in_fp32, MODEL, 0, CPU)
    assert (cell_key(scenario, "lora", in_bf16, MODEL, 0, CPU, {})
            != cell_key(scenario, "lora", in_fp32, MODEL, 0, CPU, {}))
    # what training depends on does change it
    more_steps = dataclasses.replace(smoke, train=dataclasses.replace(smoke.train, epochs=smoke.train.epochs + 1))
    assert train_key(scenario, "lora", more_steps, MODEL, 0, CPU) != base
    assert train_key(scenario, "lora", smoke, MODEL, 1, CPU) != base
    assert train_key(scenario, "qlora", smoke, MODEL, 0, CPU) != base
    assert train_key(scenario, "lora", smoke, dataclasses.replace(MODEL, identity="tiny@other"), 0, CPU) != base


def test_a_change_of_the_training_rule_keys_anew_only_the_cells_it_trains(scenario) -> None:  # noqa: ANN001
    """Issue 28: the stopping rule (or any training setting) moves lora's and raft's keys, never baseline's or
    rag's; the hybrid follows through lora's key, its dependency."""
    smoke = get_profile("smoke")
    other_rule = smoke.with_train(fit_loss=0.01)
    for strategy in ("baseline", "rag"):
        assert cell_key(scenario, strategy, smoke, MODEL, 0, CPU, {}) == cell_key(scenario, strategy, other_rule,
                                                                                  MODEL, 0, CPU, {})
    for strategy in ("lora", "qlora", "raft"):
        assert cell_key(scenario, strategy, smoke, MODEL, 0, CPU, {}) != cell_key(scenario, strategy, other_rule,
                                                                                  MODEL, 0, CPU, {})
        assert train_key(scenario, strategy, smoke, MODEL, 0, CPU) != train_key(scenario, strategy, other_rule,
                                                                                MODEL, 0, CPU)
    # raft's own settings (train_overrides) key raft only
    raft_only = dataclasses.replace(smoke, train_overrides=(("raft", dataclasses.replace(smoke.train, lr=9e-3)),))
    assert cell_key(scenario, "lora", smoke, MODEL, 0, CPU, {}) == cell_key(scenario, "lora", raft_only, MODEL, 0,
                                                                            CPU, {})
    assert cell_key(scenario, "raft", smoke, MODEL, 0, CPU, {}) != cell_key(scenario, "raft", raft_only, MODEL, 0,
                                                                            CPU, {})


def test_answer_precision_resolves_per_device(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness import models
    from harness.errors import HarnessError

    gpu = DeviceInfo("cuda", "bfloat16", "test gpu", 80_000.0)
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    assert [models.answer_precision(c, CPU) for c in ("auto", "fp32", "bf16")] == ["bfloat16", "float32", "bfloat16"]
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: False)  # bf16 emulated, slower than fp32: auto keeps fp32
    assert [models.answer_precision(c, CPU) for c in ("auto", "fp32", "bf16")] == ["float32", "float32", "bfloat16"]
    assert models.answer_precision("fp32", gpu) == "bfloat16"  # a GPU's weights are loaded in their half dtype
    with pytest.raises(HarnessError, match="answer precision 'fp16'"):
        models.answer_precision("fp16", CPU)


def test_cells_carry_the_precision_their_key_was_made_with(scenario,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolved once where the run is planned: a worker on another CPU answers as the key says."""
    from harness import models

    smoke = get_profile("smoke")
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: True)
    cells = plan_cells([scenario], ["rag", "lora"], smoke, MODEL, [0], CPU)
    assert {c.precision for c in cells} == {"bfloat16"}
    monkeypatch.setattr(models, "cpu_has_bf16", lambda: False)
    fp32 = plan_cells([scenario], ["rag", "lora"], smoke, MODEL, [0], CPU)
    assert {c.precision for c in fp32} == {"float32"}
    assert [c.key for c in fp32] != [c.key for c in cells]
