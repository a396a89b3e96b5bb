"""The matrix on tiny models: every strategy fills its row, the cache resumes, failures stay local."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_scenario, resolve_scenario_arg
from harness.models import answer_precision, resolve_device, resolve_model
from harness.profiles import get_profile
from harness.results import columns, read_run
from harness.run import RunOptions, run_matrix
from tiny_models import make_adapter_matter

ROOT = Path(__file__).resolve().parent.parent
ALL = ["baseline", "rag", "lora", "qlora", "hybrid", "raft"]
TRAINED = {"lora", "qlora", "hybrid", "raft"}
RETRIEVING = {"rag", "hybrid", "raft"}


def options(model: Path, out: Path, strategies: list[str], scenarios: tuple[str, ...] = ("multi_fact_qa",),
            isolate: bool = False) -> RunOptions:
    """A smoke run's options; cells in this process unless `isolate` (a test's monkeypatch reaches them only
    here; `harness run` on a CPU isolates them, and the tests that say so do too)."""
    return RunOptions(
        scenarios=[load_scenario(resolve_scenario_arg(s)) for s in scenarios], strategies=strategies,
        profile=get_profile("smoke"), model=resolve_model(str(model)),
        device=resolve_device("cpu"), seeds=[0], out=out, argv=["test"], progress=False, isolate=isolate,
    )


def fail_strategy(monkeypatch: pytest.MonkeyPatch, name: str, exc: BaseException) -> None:
    """Make cells of strategy `name` raise `exc`; every other strategy runs for real."""
    import harness.strategies.base as base

    real = base.execute

    def execute(strategy, task):  # noqa: ANN001, ANN202
        if strategy.name == name:
            raise exc
        return real(strategy, task)

    monkeypatch.setattr(base, "execute", execute)


def check_rows_filled(df: pd.DataFrame) -> None:
    assert list(df.columns[: len(columns())]) == columns()
    assert sorted(df["strategy"]) == sorted(ALL)
    for _, r in df.iterrows():
        assert r["status"] == "ok", (r["strategy"], r["error"])
        must = ["accuracy", "accuracy_ci_low", "accuracy_ci_high", "accuracy_updated", "accuracy_updated_ci_low",
                "accuracy_updated_ci_high", "n_items", "n_items_updated", "train_seconds", "trainable_params",
                "total_params", "peak_memory_mb", "memory_kind", "infer_peak_memory_mb", "seconds_per_answer",
                "latency_p50_s", "latency_p95_s", "adapter_mb", "model_identity", "device", "device_name", "git_commit",
                "versions", "cell_key", "created_at", "seed", "profile", "model",
                "fact_recall", "token_f1", "faithfulness_method", "mc_accuracy", "mc_accuracy_ci_low",
                "mc_accuracy_norm", "mc_accuracy_norm_ci_low", "accuracy_composed", "n_items_composed",
                "accuracy_unseen", "n_items_unseen"]
        if r["strategy"] in TRAINED:
            must += ["train_tokens_per_s", "train_steps", "train_loss_first", "train_loss_last", "train_peak_memory_mb",
                     "train_accuracy", "train_accuracy_ci_low", "n_items_train"]
        assert (r["retrieves"], r["fine_tuned"], r["four_bit"]) == (
            r["strategy"] in RETRIEVING, r["strategy"] in TRAINED, r["strategy"] == "qlora"), r["strategy"]
        if r["strategy"] in RETRIEVING:
            must += ["index_seconds", "index_mb", "context_recall", "context_precision", "hit_at_k"]
        else:
            assert pd.isna(r["hit_at_k"]) and pd.isna(r["context_recall"]), r["strategy"]
        for c in must:
            assert r[c] is not None and r[c] == r[c], (r["strategy"], c)
        assert r["memory_kind"] == "cpu_rss" and r["faithfulness_method"] == "claims-offline"
        assert r["n_items"] == 4 and r["n_items_updated"] == 4
        # the built-in smoke slice of multi_fact_qa: no item is stated whole by a training pair, so its seen
        # slice is empty and has no score (never a made-up one)
        assert (r["n_items_seen"], r["n_items_composed"], r["n_items_unseen"]) == (0, 3, 1)
        assert pd.isna(r["accuracy_seen"]), r["strategy"]
        assert r["recognises_not_writes"] in (True, False)
        assert 0.0 <= r["accuracy_ci_low"] <= r["accuracy"] <= r["accuracy_ci_high"] <= 1.0
        assert r["peak_memory_mb"] > 0 and r["seconds_per_answer"] > 0
        assert 0 < r["latency_p50_s"] <= r["latency_p95_s"] and r["latency_precision"] == "float32"
        assert "torch" in json.loads(r["versions"])
        if r["strategy"] in TRAINED:
            assert r["trainable_params"] > 0 and r["adapter_mb"] > 0 and r["train_seconds"] > 0
        else:
            assert r["trainable_params"] == 0 and r["train_seconds"] == 0
    by = df.set_index("strategy")
    # hybrid reuses lora's adapter: same training cost, no retraining
    assert by.loc["hybrid", "train_seconds"] == by.loc["lora", "train_seconds"]
    assert by.loc["hybrid", "train_reused_from"] == "lora"


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["llama", "phi3"])
def test_every_strategy_fills_its_row(arch: str, request: pytest.FixtureRequest, tmp_path: Path, fresh_cache: Path) -> None:
    model = request.getfixturevalue(f"tiny_{arch}")
    df = run_matrix(options(model, tmp_path / "run", ALL))
    check_rows_filled(df)
    assert set(df["answer_precision"]) == {answer_precision("auto", resolve_device("cpu"))}
    df2, samples, manifest = read_run(tmp_path / "run")
    assert len(df2) == 6 and manifest["complete"] is True
    # every strategy answers the eval and the corpus_update items; cells with an adapter, 8 training items too
    assert len(samples) == 6 * (4 + 4) + 4 * 8
    assert {s["eval_set"] for s in samples} == {"eval", "update", "train"}
    assert all("claims" in s for s in samples if s["eval_set"] == "eval")
    # the adapters target every projection, the fused Phi-3 ones included
    adapter_cfg = json.loads((Path(df.set_index("strategy").loc["lora", "adapter_path"]) / "adapter_config.json").read_text())
    targets = {name.split(".")[-1] for name in adapter_cfg["target_modules"]}
    expected = {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"} if arch == "phi3" else {
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert targets == expected


def test_rag_prompt_contains_the_gold_document(tmp_path: Path, tiny_llama: Path, fresh_cache: Path) -> None:
    from harness.textnorm import contains

    run_matrix(options(tiny_llama, tmp_path / "run", ["rag"]))
    _, samples, _ = read_run(tmp_path / "run")
    scenario = load_scenario(resolve_scenario_arg("multi_fact_qa"))
    corpora = {"eval": {d.id: d for d in scenario.corpus}, "update": {d.id: d for d in scenario.corpus_update}}
    items = {i.id: i for i in scenario.eval + scenario.eval_update}
    found = [s for s in samples if set(s["gold_doc_ids"]) <= set(s["retrieved_ids"])]
    # two-hop retrieval finds both documents of a chained question for most smoke items
    assert len(found) >= 4, [(s["item_id"], s["retrieved_ids"]) for s in samples]
    assert {s["eval_set"] for s in found} == {"eval", "update"}
    for s in found:
        docs = corpora[s["eval_set"]]  # the update items are answered from the updated corpus
        for gid in s["gold_doc_ids"]:
            assert docs[gid].text in s["prompt"]
        assert all(contains(s["prompt"], f) for f in items[s["item_id"]].required_facts)


def test_rerun_is_served_from_the_cache(tmp_path: Path, tiny_llama: Path, fresh_cache: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_matrix(options(tiny_llama, tmp_path / "a", ["baseline", "lora"]))

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("strategy code ran on a rerun")

    monkeypatch.setattr("harness.strategies.base.execute", boom)
    second = run_matrix(options(tiny_llama, tmp_path / "b", ["baseline", "lora"]))
    assert list(second["status"]) == ["ok", "ok"]
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))


def test_one_failing_cell_leaves_the_others_ok(tmp_path: Path, tiny_llama: Path, fresh_cache: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.strategies.base as base

    real = base.execute
    fail_strategy(monkeypatch, "rag", RuntimeError("CUDA out of memory (simulated)"))
    df = run_matrix(options(tiny_llama, tmp_path / "run", ["baseline", "rag", "lora"]))
    by = df.set_index("strategy")
    assert by.loc["rag", "status"] == "failed"
    assert by.loc["rag", "error"] == "RuntimeError: CUDA out of memory (simulated)"
    assert pd.isna(by.loc["rag", "accuracy"])  # no made-up value
    assert by.loc["baseline", "status"] == "ok" and by.loc["lora", "status"] == "ok"

    # the failed cell is retried on the next run, the finished ones are not recomputed
    ran: list[str] = []

    def recording(strategy, task):  # noqa: ANN001, ANN202
        ran.append(strategy.name)
        return real(strategy, task)

    monkeypatch.setattr(base, "execute", recording)
    df = run_matrix(options(tiny_llama, tmp_path / "run", ["baseline", "rag", "lora"]))
    assert ran == ["rag"] and set(df["status"]) == {"ok"}


def test_hybrid_without_its_lora_cell_is_skipped_with_a_reason(tmp_path: Path, tiny_llama: Path, fresh_cache: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.strategies.base as base

    real = base.execute
    fail_strategy(monkeypatch, "lora", MemoryError("simulated"))
    df = run_matrix(options(tiny_llama, tmp_path / "run", ["hybrid"])).set_index("strategy")
    assert list(df.index) == ["lora", "hybrid"]  # hybrid pulls in the cell whose adapter it reuses
    assert df.loc["hybrid", "status"] == "skipped"
    assert df.loc["hybrid", "error"] == "needs the lora cell's adapter, and that cell is failed"

    # once lora succeeds, the hybrid cell runs instead of being served its old skip
    monkeypatch.setattr(base, "execute", real)
    df = run_matrix(options(tiny_llama, tmp_path / "run", ["hybrid"])).set_index("strategy")
    assert list(df["status"]) == ["ok", "ok"]


def test_a_lora_cell_failing_mid_training_leaves_the_shared_model_clean(tmp_path: Path, tiny_llama: Path,
                                                                        fresh_cache: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """LoRA cells attach their adapter to the run's loaded base model; if training dies after the
    attach, the next cell must still answer with the plain model (same answers as in a run alone)."""
    import shutil

    import harness.training as training

    def dies(model, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        make_adapter_matter(model, std=0.5)  # a few steps in: the adapter already changes the answers
        raise MemoryError("simulated, after the adapter was attached")

    monkeypatch.setattr(training, "train", dies)
    df = run_matrix(options(tiny_llama, tmp_path / "a", ["lora", "baseline"])).set_index("strategy")
    assert df.loc["lora", "status"] == "failed" and df.loc["baseline", "status"] == "ok"
    after_failure = [json.loads(x)["answer"] for x in (tmp_path / "a" / "samples.jsonl").read_text().splitlines()
                     if json.loads(x)["strategy"] == "baseline"]
    shutil.rmtree(fresh_cache / "cells")
    run_matrix(options(tiny_llama, tmp_path / "b", ["baseline"]))
    alone = [json.loads(x)["answer"] for x in (tmp_path / "b" / "samples.jsonl").read_text().splitlines()]
    assert after_failure == alone and len(alone) > 0


def kill_mid_run_and_resume(model: Path, cache: Path, out: Path, extra: list[str] | None = None,
                            wait_s: float = 120) -> subprocess.CompletedProcess[str]:
    """`harness run` of 3 cells, SIGKILLed once its first cell is in the cache, then run again to the end;
    checks the folder holds exactly one ok row per cell and returns the second run."""
    cmd = [sys.executable, "-m", "harness", "run", *(extra or []), "--model", str(model), "--profile", "smoke",
           "--quiet", "--scenario", "multi_fact_qa", "--strategy", "baseline", "--strategy", "rag", "--strategy", "lora",
           "--out", str(out)]
    env = {**os.environ, "HARNESS_CACHE_DIR": str(cache)}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cells = cache / "cells"
    deadline = time.time() + wait_s
    while time.time() < deadline and not (cells.is_dir() and any(cells.glob("*.json"))):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_before = len(list(cells.glob("*.json")))
    assert 1 <= finished_before < 3, "the kill must land mid-run"

    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    df, samples, manifest = read_run(out)
    assert len(df) == 3 and df[["scenario", "strategy"]].duplicated().sum() == 0
    assert set(df["status"]) == {"ok"} and manifest["complete"] is True
    assert len(samples) == 3 * 8 + 8
    return done


@pytest.mark.slow
def test_killed_run_resumes_with_one_row_per_cell(tmp_path: Path, tiny_llama: Path, fresh_cache: Path) -> None:
    kill_mid_run_and_resume(tiny_llama, fresh_cache, tmp_path / "run")


def test_bad_model_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["run", "--profile", "smoke", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: --model {tmp_path / 'nope'}: unknown model (use 'embedded', a local HF folder, or a hub id like org/name)\n"
    assert main(["run", "--profile", "smoke", "--strategy", "magic", "--model", "embedded", "--out", str(tmp_path / "r")]) == 2
    assert capsys.readouterr().err.startswith("error: --strategy magic: unknown strategy (known: baseline, hybrid, lora, qlora, raft, rag)")


def test_raft_is_asked_its_training_items_with_the_sources_it_was_trained_on(tmp_path: Path, tiny_llama: Path,
                                                                             fresh_cache: Path) -> None:
    """Seen on a user scenario: a raft cell read train_accuracy 0.00 with held-out accuracy 0.10, because its
    own items were asked with retrieved passages, not with the gold + distractor sources it learned from."""
    from harness.cell import CellTask
    from harness.strategies.raft import raft_examples

    opts = options(tiny_llama, tmp_path / "run", ["raft"])
    run_matrix(opts)
    samples = [json.loads(x) for x in (tmp_path / "run" / "samples.jsonl").read_text().splitlines()]
    asked = [s["prompt"] for s in samples if s["eval_set"] == "train"]
    task = CellTask(opts.scenarios[0], opts.profile, opts.model, opts.device, 0, tmp_path, None, {})  # type: ignore[arg-type]
    trained = [messages[-1]["content"] for messages, _ in raft_examples(task)]
    assert asked == trained[: len(asked)] and len(asked) == 8
    assert all(p.startswith("Sources:\n[") for p in asked)
    # held-out questions are still answered with what the retriever finds
    assert all(s["retrieved_ids"] for s in samples if s["eval_set"] == "eval")


def test_a_cell_that_runs_out_of_memory_fails_alone_and_says_what_ran_out(tmp_path: Path, tiny_llama: Path,
                                                                          fresh_cache: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    import torch

    import harness.training as training

    def no_room(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "answer_loss", no_room)  # every training step runs out of memory
    df = run_matrix(options(tiny_llama, tmp_path / "run", ["baseline", "lora", "rag"])).set_index("strategy")
    assert df.loc["lora", "status"] == "failed"
    assert re.fullmatch(r"OutOfMemory: out of memory at batch 4, sequence \d+ \(training\)", df.loc["lora", "error"])
    assert pd.isna(df.loc["lora", "accuracy"])
    assert df.loc["baseline", "status"] == "ok" and df.loc["rag", "status"] == "ok"
