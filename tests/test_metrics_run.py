"""The metrics layer inside real runs on a tiny model: judge wiring, seeds, adapter reuse, comparisons, lm-eval."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.results import COMPARISONS_FILE, read_run
from harness.run import run_matrix
from test_matrix import options
from tiny_models import make_adapter_matter


def test_rescoring_reuses_the_trained_adapter(tmp_path: Path, tiny_llama: Path, fresh_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_matrix(options(tiny_llama, tmp_path / "a", ["lora"])).iloc[0]
    assert first["train_cached"] is False or first["train_cached"] == 0
    for f in (fresh_cache / "cells").glob("*.json"):
        f.unlink()  # as if the scoring had changed: the cell must be recomputed, its adapter not retrained

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("retrained although the adapter was cached")

    monkeypatch.setattr("harness.training.train", boom)
    # the cache moved (another mount, a copied folder): the record's adapter path is where the adapter is now,
    # so the hybrid that reuses it finds it
    moved = tmp_path / "moved"
    shutil.move(fresh_cache, moved)
    monkeypatch.setenv("HARNESS_CACHE_DIR", str(moved))
    frame = run_matrix(options(tiny_llama, tmp_path / "b", ["lora", "hybrid"])).set_index("strategy")
    second = frame.loc["lora"]
    assert list(frame["status"]) == ["ok", "ok"], list(frame["error"])
    assert bool(second["train_cached"]) is True
    assert second["train_seconds"] == first["train_seconds"] and second["accuracy"] == first["accuracy"]
    assert Path(frame.loc["hybrid", "adapter_path"]).is_relative_to(moved)


def test_seeds_repeat_only_training_cells_and_report_spread(tmp_path: Path, tiny_llama: Path, fresh_cache: Path) -> None:
    from harness.compare import seed_summary
    from harness.views import summary_table

    opts = options(tiny_llama, tmp_path / "run", ["baseline", "lora"])
    opts.seeds = [0, 1]
    df = run_matrix(opts)
    assert sorted(zip(df["strategy"], df["seed"])) == [("baseline", 0), ("lora", 0), ("lora", 1)]
    lora = df[df["strategy"] == "lora"].set_index("seed")
    assert lora.loc[0, "train_loss_last"] != lora.loc[1, "train_loss_last"]  # really different training runs
    summ = seed_summary(df).set_index("strategy")
    assert summ.loc["lora", "n_seeds"] == 2 and summ.loc["baseline", "n_seeds"] == 1
    assert summ.loc["lora", "accuracy_mean"] == pytest.approx(lora["accuracy"].mean())
    assert "over seeds (mean ± sd)" in summary_table(df)
    _, _, manifest = read_run(tmp_path / "run")
    assert manifest["seeds"] == [0, 1]


def test_comparisons_are_written_with_paired_p_values(tmp_path: Path, tiny_llama: Path, fresh_cache: Path) -> None:
    run_matrix(options(tiny_llama, tmp_path / "run", ["baseline", "rag"]))
    comp = pd.read_parquet(tmp_path / "run" / COMPARISONS_FILE)
    acc = comp[(comp["metric"] == "accuracy")].iloc[0]
    assert (acc["a"], acc["b"], acc["n_items"]) == ("baseline", "rag", 4)
    assert 0.0 <= acc["p_value"] <= 1.0
    assert acc["diff"] == pytest.approx(acc["mean_a"] - acc["mean_b"])


def test_judge_path_uses_ragas_against_a_local_openai_server(tmp_path: Path, tiny_llama: Path, fresh_cache: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from fake_openai import FakeOpenAI
    from harness.judge import JudgeConfig

    monkeypatch.setenv("JUDGE_KEY", "sk-local-test")
    with FakeOpenAI() as server:
        opts = options(tiny_llama, tmp_path / "run", ["rag"])
        opts.judge = JudgeConfig(server.url, "fake-judge", "JUDGE_KEY")
        row = run_matrix(opts).iloc[0]
    assert row["status"] == "ok", row["error"]
    assert row["faithfulness_method"] == "ragas-judge:fake-judge"
    assert server.requests and all(r["auth"] == "Bearer sk-local-test" for r in server.requests)
    assert all(r["body"]["model"] == "fake-judge" for r in server.requests)
    _, samples, manifest = read_run(tmp_path / "run")
    assert manifest["faithfulness"] == "ragas-judge:fake-judge"
    judged = [s for s in samples if s["eval_set"] == "eval" and s["claims"]]
    # the fake judge supports a statement when all its numbers occur in the context: recompute its verdicts
    for s in judged:
        context = "\n".join(s["retrieved_texts"])
        import re

        expected = [all(n in context for n in re.findall(r"\d+", c["claim"])) for c in s["claims"]]
        assert [c["supported"] for c in s["claims"]] == expected
        assert s["scores"]["faithfulness"] == pytest.approx(sum(expected) / len(expected))
    # the same judge scores answer correctness against the reference (offline runs leave it empty)
    assert 0.0 <= row["answer_correctness"] <= 1.0
    assert all("answer_correctness" in s["scores"] for s in samples if s["eval_set"] == "eval")


def test_judged_answer_correctness_is_the_f1_of_claims_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake judge supports a claim when its numbers occur in the other text. ragas counts TP = answer
    claims the reference supports, FP = those it does not, FN = reference claims the answer does not support;
    F1 = 2PR / (P + R) with P = TP / (TP + FP), R = TP / (TP + FN)."""
    from fake_openai import FakeOpenAI
    from harness.judge import JudgeConfig, RagasJudge

    monkeypatch.setenv("JUDGE_KEY", "sk-local-test")
    with FakeOpenAI() as server:
        judge = RagasJudge(JudgeConfig(server.url, "fake-judge", "JUDGE_KEY"))
        got = judge.correctness_many(
            ["The KP-200 carries a 36-month warranty.", "The warranty is 36 months.", "Call 555 0142."],
            ["The KP-200 carries a 36-month warranty.", "The KP-200 carries a 36-month warranty.", "Within 30 days."])
    # the 2nd: TP 1 (36 is in the reference), FP 0, FN 1 (the reference's claim needs 200): P 1, R 1/2, F1 2/3
    assert got == pytest.approx([1.0, 2 / 3, 0.0], abs=0.01)
    assert any("response" in r["body"]["messages"][-1]["content"] for r in server.requests)


def test_without_a_judge_answer_correctness_is_not_measured(smoke_run: Path) -> None:
    df, _, _ = read_run(smoke_run)
    assert df["answer_correctness"].isna().all()


def test_judge_without_its_key_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.cli import main

    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    code = main(["run", "--profile", "smoke", "--judge", "http://127.0.0.1:9/v1", "--judge-model", "m",
                 "--judge-key-env", "NO_SUCH_KEY", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --judge-key-env NO_SUCH_KEY: the environment variable is not set"
    assert main(["run", "--seeds", "0,x", "--out", str(tmp_path / "r")]) == 2
    assert "--seeds 0,x: expected comma-separated integers" in capsys.readouterr().err


def test_export_lm_eval_writes_a_task_lm_eval_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main
    from lm_eval.tasks import TaskManager

    assert main(["export-lm-eval", "--scenario", "multi_fact_qa", "--out", str(tmp_path / "t"), "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert "lm_eval --model hf" in out and "--apply_chat_template" in out
    cfg = yaml.safe_load((tmp_path / "t" / "harness_multi_fact_qa.yaml").read_text())
    assert cfg["output_type"] == "multiple_choice" and Path(cfg["dataset_kwargs"]["data_files"]["test"]).is_absolute()
    rows = [json.loads(line) for line in (tmp_path / "t" / "harness_multi_fact_qa.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and all(len(r["choices"]) == 4 for r in rows)
    assert len({r["gold"] for r in rows}) > 1  # the reference is not always in the same position
    assert (tmp_path / "t" / "harness_multi_fact_qa_updated.yaml").is_file()
    tm = TaskManager(include_path=str(tmp_path / "t"))
    assert "harness_multi_fact_qa" in tm.all_tasks


def test_mc_accuracy_and_its_length_normalised_twin_on_options_of_unequal_length(tiny_llama: Path) -> None:
    """Summed log-likelihood (acc) favours a one-token choice over 40-token ones on any model: with the
    reference short acc is 1, with the reference long it is 0, wherever the reference was placed. acc_norm
    divides by the option's length in characters, so on a random model it leans the other way: it is the
    figure to read when options differ in length, and harness reports both."""
    from harness.data import EvalItem
    from harness.lmeval import mc_records, mc_scores
    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model

    ref = resolve_model(str(tiny_llama))
    model, tok = load_causal_lm(ref, resolve_device("cpu")), load_tokenizer(ref)
    long = " ".join(["zebra quantum ledger"] * 13)

    def items(reference: str, wrong: str) -> list[EvalItem]:
        return [EvalItem(id=f"i{n}", question=f"Question {n}?", reference=reference, gold_doc_ids=["D"],
                         wrong_options=[wrong + f" {k}" for k in range(3)]) for n in range(6)]

    assert mc_scores(model, tok, mc_records(items("Yes", long)), "S") == [(1.0, 0.0)] * 6
    assert mc_scores(model, tok, mc_records(items(long, "Yes")), "S") == [(0.0, 1.0)] * 6


@pytest.mark.parametrize("adapter", [False, True])
def test_shared_context_loglikelihoods_equal_lm_evals_own(tiny_llama: Path, adapter: bool) -> None:
    """mc_accuracy runs each context once for all its choices; the log-likelihoods and greedy flags must be
    the ones lm-eval's HFLM computes request by request (with a LoRA adapter attached too)."""
    from lm_eval.models.huggingface import HFLM

    from harness.lmeval import shared_context_loglikelihoods
    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
    from harness.training import TrainConfig, attach_lora

    ref = resolve_model(str(tiny_llama))
    model, tok = load_causal_lm(ref, resolve_device("cpu")), load_tokenizer(ref)
    if adapter:
        model = attach_lora(model, TrainConfig(steps=1, batch_size=1, lr=1e-3, dropout=0.0), quantized=False)
        make_adapter_matter(model)
        model.eval()
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=4)
    requests = []
    for question in ("Who supplies KP-1?", "Which depot ships returns to Oslo?"):
        context = tok.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                          add_generation_prompt=True)
        for choice in ("Acme", "Acme Seals, in 12 working days", "Tallis depot", "Form R-7 signed twice"):
            context_enc, choice_enc = lm._encode_pair(context, choice)
            requests.append(((context, choice), context_enc, choice_enc))
    theirs = HFLM._loglikelihood_tokens(lm, requests, disable_tqdm=True)
    ours = shared_context_loglikelihoods(model, requests)
    assert [g for _, g in ours] == [g for _, g in theirs]
    assert [lp for lp, _ in ours] == pytest.approx([lp for lp, _ in theirs], abs=1e-4)
    assert len({round(lp, 3) for lp, _ in ours}) > len(requests) // 2  # the choices really differ


def test_multiple_choice_reuses_the_answered_prompts_keys_and_values(tiny_llama: Path) -> None:
    """generate hands back each prompt's cache (cut out of a left-padded batch); multiple choice continues
    from it instead of running the context again, with the log-likelihoods HFLM computes from scratch."""
    import torch
    from lm_eval.models.huggingface import HFLM

    from harness.generation import answering_in, generate
    from harness.lmeval import shared_context_loglikelihoods
    from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model

    ref = resolve_model(str(tiny_llama))
    model, tok = load_causal_lm(ref, resolve_device("cpu")), load_tokenizer(ref)
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=4)
    convs = [[{"role": "user", "content": q}] for q in ("Who supplies KP-1?", "Which depot ships returns to Oslo today?")]
    requests = []
    for conv in convs:
        context = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
        for choice in ("Acme", "Acme Seals, in 12 working days", "Tallis depot"):
            context_enc, choice_enc = lm._encode_pair(context, choice)
            requests.append(((context, choice), context_enc, choice_enc))
    theirs = HFLM._loglikelihood_tokens(lm, requests, disable_tqdm=True)

    states = generate(model, tok, convs, 4, batch_size=2, keep_prompt_states=True).prompt_states
    assert len(states) == 2  # prompts of different lengths: the shorter was left-padded in the batch
    ours = shared_context_loglikelihoods(model, requests, states)
    assert states == {}  # both were used
    assert [lp for lp, _ in ours] == pytest.approx([lp for lp, _ in theirs], abs=1e-4)
    assert [g for _, g in ours] == [g for _, g in theirs]

    # over one batch nothing is kept: an earlier batch's cache must not stay resident while later ones answer
    assert generate(model, tok, convs, 4, batch_size=1, keep_prompt_states=True).prompt_states == {}

    # answered in bf16, multiple choice continues from the kept keys and values in bf16: the log-likelihoods
    # of running each context from scratch under the same autocast, not the fp32 ones
    heads: list[torch.dtype] = []
    hook = model.get_output_embeddings().register_forward_hook(lambda m, i, o: heads.append(o.dtype))
    states = generate(model, tok, convs, 4, batch_size=2, keep_prompt_states=True, precision="bfloat16").prompt_states
    hook.remove()
    assert set(heads) == {torch.bfloat16}
    with answering_in(model, "bfloat16"):
        scratch = shared_context_loglikelihoods(model, requests)
        ours = shared_context_loglikelihoods(model, requests, states)
    assert states == {}
    assert [lp for lp, _ in ours] == pytest.approx([lp for lp, _ in scratch], abs=1e-5)
    assert max(abs(a - b) for (a, _), (b, _) in zip(ours, theirs)) > 1e-4  # computed in bf16, not fp32

    broken = generate(model, tok, convs, 4, batch_size=2, keep_prompt_states=True).prompt_states
    broken = {prompt: [(keys, torch.zeros_like(values)) for keys, values in state] for prompt, state in broken.items()}
    wrong = shared_context_loglikelihoods(model, requests, broken)
    assert max(abs(a - b) for (a, _), (b, _) in zip(wrong, theirs)) > 1e-2  # the states really are what is used
