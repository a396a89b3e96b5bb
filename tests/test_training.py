"""QLoRA is really 4-bit and really learns, even after an eval forward (the bitsandbytes CPU trap)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
from harness.prompts import closed_book
from harness.training import IGNORE, TrainConfig, attach_lora, encode_example, train
from tiny_models import make_adapter_matter


def test_prompt_is_masked_and_end_of_turn_is_learned(tiny_llama: Path) -> None:
    tok = load_tokenizer(resolve_model(str(tiny_llama)))
    ids, labels = encode_example(tok, closed_book("S", "Who supplies KP-1?"), "Acme.", 512)
    learned = [t for t, lab in zip(ids, labels) if lab != IGNORE]
    assert tok.decode(learned).startswith("Acme.")
    end = tok.convert_tokens_to_ids("<|im_end|>")
    assert end in learned  # pad == <|im_end|>: the stop token must still carry loss
    assert labels[: len(ids) - len(learned)] == [IGNORE] * (len(ids) - len(learned))


def _qlora_losses(model_dir: Path, eval_first: bool) -> tuple[list[float], object]:
    ref, dev = resolve_model(str(model_dir)), resolve_device("cpu")
    tok = load_tokenizer(ref)
    torch.manual_seed(0)
    model = load_causal_lm(ref, dev, four_bit=True)
    cfg = TrainConfig(steps=12, batch_size=4, lr=5e-3, r=8, alpha=16, warmup_steps=1)
    model = attach_lora(model, cfg, quantized=True)
    if eval_first:  # the trap: a no-grad forward (an eval, a generate) before training
        enc = tok("hello there", return_tensors="pt")
        with torch.inference_mode():
            model.generate(**enc, max_new_tokens=3, do_sample=False, pad_token_id=tok.pad_token_id)
    examples = [(closed_book("S", f"Who supplies KP-{i}?"), f"Supplier number {i} does.") for i in range(4)]
    return train(model, tok, examples, cfg, seed=0, device="cpu").losses, model


def test_qlora_layers_are_4bit(tiny_llama: Path) -> None:
    import bitsandbytes as bnb

    model = load_causal_lm(resolve_model(str(tiny_llama)), resolve_device("cpu"), four_bit=True)
    four_bit = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    assert len(four_bit) == 2 * 7  # every projection of both layers
    assert all(m.weight.dtype == torch.uint8 and m.weight.quant_type == "nf4" for m in four_bit)
    assert all(m.support_avx512bf16_for_cpu is False for m in four_bit)


def test_qlora_loss_falls_after_an_eval_as_without_one(tiny_llama: Path) -> None:
    """With the bitsandbytes CPU repacking trap, gradients through 4-bit layers vanish after an eval:
    the loss would then fall differently from a run without the eval. Here both must agree."""
    plain, _ = _qlora_losses(tiny_llama, eval_first=False)
    after_eval, model = _qlora_losses(tiny_llama, eval_first=True)
    assert after_eval[-1] < after_eval[0] - 0.3, after_eval
    assert max(abs(a - b) for a, b in zip(plain, after_eval)) < 1e-3, (plain, after_eval)
    # lora_B starts at zero: the first layer's moves only if gradients crossed the 4-bit layers above it
    first_layer_b = [p for n, p in model.named_parameters() if "layers.0." in n and "lora_B" in n]
    assert first_layer_b and all(float(p.abs().sum()) > 0 for p in first_layer_b)


def test_answer_only_loss_equals_the_models_own_loss(tiny_llama: Path) -> None:
    """The LM head applied only at answer positions gives the same loss as the full forward."""
    from harness.training import _collate, answer_loss

    ref = resolve_model(str(tiny_llama))
    tok = load_tokenizer(ref)
    model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), TrainConfig(steps=1, batch_size=2, lr=1e-3),
                        quantized=False)
    batch = [encode_example(tok, closed_book("S", q), a, 512)
             for q, a in (("Who supplies KP-1?", "Acme Seals, in 12 working days."), ("Depot?", "Tallis."))]
    inputs = _collate(batch, tok.pad_token_id)
    with torch.no_grad():
        assert float(answer_loss(model, inputs)) == pytest.approx(float(model(**inputs).loss), abs=1e-5)


def test_shared_prefix_len_stops_before_the_first_answer_token() -> None:
    from harness.training import shared_prefix_len

    # two examples sharing 4 prompt tokens; answers (labels) start at index 5 and 6
    a = ([1, 2, 3, 4, 5, 9, 9], [IGNORE] * 5 + [9, 9])
    b = ([1, 2, 3, 4, 6, 7, 8], [IGNORE] * 6 + [8])
    assert shared_prefix_len([a, b]) == 4
    # identical prompts: the prefix stops one short of the answer, so that position runs per row
    same = ([1, 2, 3, 7], [IGNORE] * 3 + [7])
    assert shared_prefix_len([same, same]) == 2
    assert shared_prefix_len([]) == 0


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_shared_prefix_gives_the_same_loss_and_gradients(tiny_llama: Path, attention: str) -> None:
    """Running the common system-prompt prefix once and repeating its keys/values across the batch is an
    optimisation only: loss and every LoRA gradient equal the plain forward's."""
    from harness.training import _collate, answer_loss, shared_prefix_len

    ref = resolve_model(str(tiny_llama))
    tok = load_tokenizer(ref)
    model = attach_lora(load_causal_lm(ref, resolve_device("cpu")),
                        TrainConfig(steps=1, batch_size=3, lr=1e-3, dropout=0.0), quantized=False)
    model.get_base_model().set_attn_implementation(attention)
    make_adapter_matter(model)
    batch = [encode_example(tok, closed_book("You answer for Acme.", q), a, 512)
             for q, a in (("Who supplies KP-1?", "Acme Seals, in 12 working days."), ("Depot?", "Tallis."),
                          ("Which form do returns use?", "Form R-7, signed by the depot lead."))]
    prefix = shared_prefix_len(batch)
    assert prefix > 5
    inputs = _collate(batch, tok.pad_token_id)
    results = []
    for n in (0, prefix):
        model.zero_grad()
        loss = answer_loss(model, inputs, n)
        loss.backward()
        results.append((float(loss), [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    (plain, g_plain), (shared, g_shared) = results
    assert shared == pytest.approx(plain, abs=1e-5)
    assert max(float((a - b).abs().max()) for a, b in zip(g_plain, g_shared)) < 1e-5


def test_training_on_cpu_runs_eager_attention_and_restores_the_models_own(tiny_llama: Path) -> None:
    from harness.training import training_attention

    model = load_causal_lm(resolve_model(str(tiny_llama)), resolve_device("cpu"))
    assert model.config._attn_implementation == "sdpa"
    with training_attention(model, "cpu") as used:
        assert used == "eager" and model.config._attn_implementation == "eager"
    assert model.config._attn_implementation == "sdpa"
    with training_attention(model, "cuda") as used:
        assert used == "sdpa"


def test_detaching_an_adapter_gives_back_the_plain_model(tiny_llama: Path) -> None:
    """Strategies of a scenario share one loaded base model: after a LoRA cell it must answer as before."""
    from harness.strategies.base import detach_adapter

    ref = resolve_model(str(tiny_llama))
    base = load_causal_lm(ref, resolve_device("cpu"))
    ids = torch.tensor([[1, 5, 9, 42, 7]])
    with torch.no_grad():
        before = base(input_ids=ids).logits.clone()
    model = attach_lora(base, TrainConfig(steps=1, batch_size=1, lr=1e-3, dropout=0.0), quantized=False)
    make_adapter_matter(model)
    with torch.no_grad():
        assert float((model(input_ids=ids).logits - before).abs().max()) > 1e-3
    plain = detach_adapter(model)
    assert plain is base and not any("lora" in n for n, _ in plain.named_modules())
    with torch.no_grad():
        assert torch.equal(plain(input_ids=ids).logits, before)


def test_lora_initialisation_depends_on_the_seed_not_on_what_ran_before(tiny_llama: Path) -> None:
    """Cells share a process: without its own seed an adapter's initial A matrices would depend on
    the random numbers earlier cells drew, and the same cell key could hold different adapters."""
    ref = resolve_model(str(tiny_llama))
    cfg = TrainConfig(steps=1, batch_size=1, lr=1e-3, dropout=0.0)

    def lora_a(draw_first: int, seed: int) -> list[torch.Tensor]:
        torch.rand(draw_first)  # an earlier cell's random draws
        model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), cfg, quantized=False, seed=seed)
        return [p.detach().clone() for n, p in model.named_parameters() if "lora_A" in n]

    fresh, after_others, other_seed = lora_a(0, 0), lora_a(1000, 0), lora_a(0, 1)
    assert all(torch.equal(a, b) for a, b in zip(fresh, after_others))
    assert not all(torch.equal(a, b) for a, b in zip(fresh, other_seed))


def test_the_training_budget_follows_the_data_and_says_how_it_was_set() -> None:
    """The quick profile's 96 steps were tuned on 24 items (32 epochs); a 60-item scenario gets the same 32
    passes (it ended under-trained at 0.46 with 96 steps), up to the profile's cap; the row says which.
    RAFT has its own budget (20 epochs, bench/schedule.py), and only RAFT."""
    from harness.profiles import get_profile
    from harness.training import planned_steps

    quick = get_profile("quick").train
    assert planned_steps(quick, 24) == (96, "32 epochs of 24 examples at batch 8 = 96 steps")
    assert planned_steps(quick, 60) == (240, "32 epochs of 60 examples at batch 8 = 240 steps")
    assert planned_steps(quick, 400) == (320, "32 epochs of 400 examples at batch 8 = 1600 steps, capped at 320 "
                                              "(6.4 epochs)")
    profile = get_profile("quick")
    assert planned_steps(profile.train_config("raft"), 24) == (60, "20 epochs of 24 examples at batch 8 = 60 steps")
    assert profile.train_config("raft").schedule == "cosine" and profile.train_config("raft").lr == 4e-3
    assert profile.train_config("lora") == profile.train_config("qlora") == quick
    on = profile.with_train(gradient_checkpointing="on")  # --gradient-checkpointing reaches every strategy
    assert {on.train_config(s).gradient_checkpointing for s in ("lora", "raft")} == {"on"}
    assert on.train_config("raft").epochs == 20
    assert planned_steps(get_profile("smoke").train, 8) == (4, "2 epochs of 8 examples at batch 4 = 4 steps")
    assert planned_steps(get_profile("smoke").train, 2)[0] == 2  # fewer items than a batch: one item per row
    assert planned_steps(TrainConfig(steps=7, batch_size=2, lr=1e-3), 100) == (7, "7 steps (fixed)")


def test_answer_no_repeat_bans_only_the_answers_own_ngrams() -> None:
    """A RAG answer must be free to copy the sources (the prompt); only a loop inside the answer is cut."""
    import torch

    from harness.generation import answer_no_repeat

    proc = answer_no_repeat(prompt_len=3, n=3)
    scores = torch.zeros((2, 10))
    ids = torch.tensor([[1, 2, 9, 1, 2, 3, 1, 2],   # the answer wrote "1 2 3" already and now ends in "1 2"
                        [1, 2, 9, 4, 5, 6, 1, 2]])  # "1 2 9" is only in the prompt: copying it stays allowed
    out = proc(ids, scores.clone())
    assert out[0, 3] == -torch.inf and (out[0, [0, 1, 2, 4, 5, 6, 7, 8, 9]] == 0).all()
    assert (out[1] == 0).all()


def test_generate_without_repeated_ngrams_on_a_tiny_model(tiny_llama) -> None:  # noqa: ANN001
    from harness.generation import generate

    ref = resolve_model(str(tiny_llama))
    model, tok = load_causal_lm(ref, resolve_device("cpu")), load_tokenizer(ref)
    convs = [closed_book("S", f"Question {n}: which supplier makes KP-{n}?") for n in range(4)]
    plain = generate(model, tok, convs, 24, batch_size=4)
    cut = generate(model, tok, convs, 24, batch_size=4, no_repeat_ngram=2)
    for text in cut.texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        grams = list(zip(ids, ids[1:]))
        assert len(grams) == len(set(grams)) or len(ids) < 3, text
    assert len(plain.texts) == len(cut.texts) == 4


def _lora_losses(model_dir: Path, checkpointing: str) -> list[float]:
    ref, dev = resolve_model(str(model_dir)), resolve_device("cpu")
    tok = load_tokenizer(ref)
    torch.manual_seed(0)
    cfg = TrainConfig(steps=4, batch_size=2, lr=5e-3, r=8, alpha=16, dropout=0.0, warmup_steps=1,
                      gradient_checkpointing=checkpointing)
    model = attach_lora(load_causal_lm(ref, dev), cfg, quantized=False, seed=0)
    examples = [(closed_book("S", f"Who supplies KP-{i}?"), f"Supplier number {i} does.") for i in range(4)]
    stats = train(model, tok, examples, cfg, seed=0, device="cpu")
    assert stats.checkpointing is (checkpointing == "on")
    assert not model.get_base_model().is_gradient_checkpointing  # switched off again for the next cell
    return stats.losses


def test_gradient_checkpointing_trains_the_same_steps(tiny_llama: Path) -> None:
    """Recomputing activations in backward changes memory, never the result."""
    assert _lora_losses(tiny_llama, "on") == pytest.approx(_lora_losses(tiny_llama, "off"), rel=1e-4)


def test_micro_batches_train_the_same_steps(tiny_llama: Path) -> None:
    """A token budget splits each batch into forwards of at most that many padded tokens; the loss is each
    part's mean weighted by its answer tokens, so losses and the trained adapter equal one whole-batch forward."""
    from dataclasses import replace

    from harness.training import micro_batches

    ref, dev = resolve_model(str(tiny_llama)), resolve_device("cpu")
    tok = load_tokenizer(ref)
    # answers of different lengths, so an unweighted mean of the parts would differ from the batch mean
    examples = [(closed_book("S", f"Who supplies KP-{i}?" + " Say more." * i), "Supplier " + "number " * (i + 1))
                for i in range(4)]
    cfg = TrainConfig(steps=4, batch_size=4, lr=5e-3, r=8, alpha=16, dropout=0.0, warmup_steps=1, autocast="none")
    runs = []
    for budget in (None, 1):  # 1 token: every row its own forward
        model = attach_lora(load_causal_lm(ref, dev), replace(cfg, max_batch_tokens=budget), quantized=False, seed=0)
        stats = train(model, tok, examples, replace(cfg, max_batch_tokens=budget), seed=0, device="cpu")
        runs.append((stats.losses, {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}))
    (whole, w1), (split, w2) = runs
    assert split == pytest.approx(whole, rel=1e-4)
    assert all(torch.allclose(w1[n], w2[n], atol=1e-5) for n in w1)
    rows = [([1] * n, [IGNORE] * n) for n in (10, 30, 20)]
    assert [len(p) for p in micro_batches(rows, 60)] == [2, 1]  # 60 // 30 rows of the widest
    assert micro_batches(rows, None) == [rows]


def test_cosine_schedule_warms_up_then_falls_to_zero() -> None:
    from harness.training import lr_factor

    cfg = TrainConfig(steps=20, batch_size=1, lr=1e-3, warmup_steps=4, schedule="cosine")
    f = [lr_factor(cfg, s, 20) for s in range(20)]
    assert f[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert all(a >= b for a, b in zip(f[3:], f[4:])) and f[-1] < 0.01
    assert lr_factor(TrainConfig(steps=20, batch_size=1, lr=1e-3, warmup_steps=4), 10, 20) == pytest.approx(0.5 ** 0.5)
    with pytest.raises(ValueError, match="schedule 'step'"):
        lr_factor(TrainConfig(steps=1, batch_size=1, lr=1e-3, schedule="step"), 0, 1)


def test_checkpointing_is_on_where_the_predicted_step_does_not_fit_the_card() -> None:
    """Decided by harness size's prediction against the card, not by parameter count: Phi-3-mini LoRA at the
    quick setting fits an 80 GB card without it, and at 16 x 512 not a 24 GB one."""
    from harness.sizing import KNOWN, Setting, predict
    from harness.training import use_checkpointing

    auto = TrainConfig(steps=1, batch_size=1, lr=1e-3)
    phi3 = KNOWN["phi-3-mini"]
    quick = predict(phi3, Setting("lora", seq=512, batch=8, rank=16)).gb()
    full = predict(phi3, Setting("lora", seq=512, batch=16, rank=16)).gb()
    assert not use_checkpointing(auto, "cuda", quick, 80.0) and use_checkpointing(auto, "cuda", full, 24.0)
    assert not use_checkpointing(auto, "cpu", full, 24.0)  # a CPU's memory is not sized this way
    assert not use_checkpointing(auto, "cuda", None, None)
    assert use_checkpointing(TrainConfig(steps=1, batch_size=1, lr=1e-3, gradient_checkpointing="on"), "cpu")
    with pytest.raises(ValueError, match="gradient_checkpointing 'maybe'"):
        use_checkpointing(TrainConfig(steps=1, batch_size=1, lr=1e-3, gradient_checkpointing="maybe"), "cuda")


def test_running_out_of_memory_says_at_what_batch_and_sequence(tiny_llama: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.training as training
    from harness.measure import OutOfMemory

    def no_room(*args: object, **kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(training, "answer_loss", no_room)
    ref = resolve_model(str(tiny_llama))
    cfg = TrainConfig(steps=2, batch_size=2, lr=1e-3, r=4, alpha=8)
    model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), cfg, quantized=False, seed=0)
    examples = [(closed_book("S", f"Who supplies KP-{i}?"), f"Supplier {i}.") for i in range(2)]
    with pytest.raises(OutOfMemory, match=r"^out of memory at batch 2, sequence \d+ \(training\)$"):
        train(model, load_tokenizer(ref), examples, cfg, seed=0, device="cpu")
    # the CPU allocator's refusal reads the same way; other errors pass through untouched
    from harness.measure import is_out_of_memory

    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 GB"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_a_train_record_saved_before_the_reserved_memory_column_still_loads(tmp_path: Path) -> None:
    import json
    import math

    from harness.strategies.base import TrainRecord

    old = {"train_seconds": 1.0, "train_tokens_per_s": 2.0, "train_steps": 3, "train_loss_first": 1.0,
           "train_loss_last": 0.5, "train_autocast": "none", "trainable_params": 10, "total_params": 100,
           "train_peak_memory_mb": 5.0, "adapter_mb": 1.0, "adapter_path": "a", "train_budget": "3 steps (fixed)"}
    (tmp_path / "train.json").write_text(json.dumps(old))
    rec = TrainRecord.load(tmp_path / "train.json")
    assert rec is not None and math.isnan(rec.train_reserved_memory_mb) and rec.train_gradient_checkpointing is False


def test_answering_out_of_memory_says_at_what_batch_and_sequence(tiny_llama: Path) -> None:
    from harness.generation import generate
    from harness.measure import OutOfMemory

    ref = resolve_model(str(tiny_llama))
    model = load_causal_lm(ref, resolve_device("cpu"))

    def no_room(**kwargs: object) -> None:
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")

    model.generate = no_room  # type: ignore[method-assign]
    convs = [closed_book("S", f"Who supplies KP-{i}?") for i in range(3)]
    with pytest.raises(OutOfMemory, match=r"^out of memory at batch 3, sequence \d+ \(answering\)$"):
        generate(model, load_tokenizer(ref), convs, max_new_tokens=8, batch_size=4)


def test_gradient_checkpointing_gives_the_same_loss_and_lora_gradients(tiny_llama: Path) -> None:
    """One step with and without checkpointing: same loss and LoRA gradients (1e-5); each decoder layer
    runs twice with it (forward, then again in backward), so it really was on."""
    from harness.training import _collate, answer_loss, gradient_checkpointing

    ref = resolve_model(str(tiny_llama))
    tok = load_tokenizer(ref)
    cfg = TrainConfig(steps=1, batch_size=2, lr=1e-3, r=8, alpha=16, dropout=0.0)
    model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), cfg, quantized=False, seed=0)
    for name, p in model.named_parameters():
        if "lora_B" in name:  # B starts at zero, which would make every A gradient zero
            torch.nn.init.normal_(p, std=0.05)
    inputs = _collate([encode_example(tok, closed_book("S", f"Who supplies KP-{i}?"), f"Supplier {i}.", 256)
                       for i in range(2)], tok.pad_token_id)
    base = model.get_base_model()
    calls = []
    # transformers checkpoints a layer's forward (its own hooks stay outside): count its MLP's calls instead
    base.get_decoder().layers[0].mlp.register_forward_pre_hook(lambda *a: calls.append(1))
    model.train()

    def step(on: bool) -> tuple[float, dict[str, torch.Tensor], int]:
        model.zero_grad()
        calls.clear()
        with gradient_checkpointing(base, on):
            loss = answer_loss(model, inputs)
            loss.backward()
        return float(loss), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}, len(calls)

    loss_off, grads_off, calls_off = step(False)
    loss_on, grads_on, calls_on = step(True)
    assert (calls_off, calls_on) == (1, 2)
    assert loss_on == pytest.approx(loss_off, abs=1e-5)
    assert grads_off and all(float(g.abs().sum()) > 0 for g in grads_off.values())
    for name, g in grads_off.items():
        assert torch.allclose(grads_on[name], g, atol=1e-5), name


def test_training_without_autocast_copies_trains_the_same_steps(tiny_llama: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under bf16 autocast the base weights are held in bf16 while training instead of cast at every forward, and
    peft's casts of adapter inputs are skipped: the matmuls read the same values, so losses and adapters are equal
    bit for bit, and the fp32 weights come back."""
    from contextlib import nullcontext

    from harness import training

    ref, dev = resolve_model(str(tiny_llama)), resolve_device("cpu")
    tok = load_tokenizer(ref)
    examples = [(closed_book("S", f"Who supplies KP-{i}?"), f"Supplier number {i} does.") for i in range(4)]
    cfg = TrainConfig(steps=3, batch_size=4, lr=5e-3, r=8, alpha=16, dropout=0.0, warmup_steps=1, autocast="bf16")
    runs = []
    for hold in (True, False):
        if not hold:
            monkeypatch.setattr(training, "without_autocast_copies", lambda model, dtype: nullcontext())
        model = attach_lora(load_causal_lm(ref, dev), cfg, quantized=False, seed=0)
        before = {n: p for n, p in model.named_parameters()}
        stats = train(model, tok, examples, cfg, seed=0, device="cpu")
        assert stats.autocast == "bfloat16"
        after = dict(model.named_parameters())
        assert all(after[n] is p and p.dtype == torch.float32 for n, p in before.items())  # the model's own weights back
        runs.append((stats.losses, {n: p.detach().clone() for n, p in after.items() if "lora_" in n}))
    (held, w1), (cast, w2) = runs
    assert held == cast
    assert all(torch.equal(w1[n], w2[n]) for n in w1)


def test_the_stopping_rule_reads_only_the_epoch_losses() -> None:
    from dataclasses import replace

    from harness.training import stop_reason

    rule = TrainConfig(steps=None, epochs=20, batch_size=4, lr=1e-3, stop="fit", fit_loss=0.05, plateau=0.05,
                       patience=3, min_epochs=3, fit_share=0.9)
    assert stop_reason(rule, [2.0, 0.5, 0.2], [0.1, 0.5, 0.9]) == "fit"  # 90% of the epoch written exactly
    assert stop_reason(rule, [2.0, 0.5, 0.2], [0.1, 0.5, 0.85]) is None
    assert stop_reason(replace(rule, fit_loss=0.0), [2.0, 0.5, 0.01], [0.0, 0.0, 0.5]) is None  # loss alone: not a fit
    assert stop_reason(rule, [0.01, 0.01]) is None  # not before min_epochs
    assert stop_reason(rule, [2.0, 0.5, 0.05]) == "fit"
    assert stop_reason(rule, [2.0, 0.5, 0.2]) is None
    # three epochs in a row, none 5% below the best before it (0.40): it stopped learning
    assert stop_reason(rule, [2.0, 0.40, 0.39, 0.395, 0.385]) == "plateau"
    assert stop_reason(rule, [2.0, 0.40, 0.39, 0.395, 0.37]) is None  # 0.37 is 5% below 0.39
    assert stop_reason(replace(rule, stop="budget"), [2.0, 0.5, 0.01]) is None


@pytest.mark.parametrize("four_bit", [False, True], ids=["lora", "qlora"])
def test_training_stops_when_it_fits_and_runs_to_the_cap_when_it_never_does(tiny_llama: Path, four_bit: bool) -> None:
    """LoRA and QLoRA follow the same rule: a threshold the loss crosses stops training at that epoch's end; one
    it never reaches (0) runs every planned step, and one that never learns (lr 0) stops on the plateau."""
    ref, dev = resolve_model(str(tiny_llama)), resolve_device("cpu")
    tok = load_tokenizer(ref)
    examples = [(closed_book("S", f"Who supplies KP-{i}?"), f"Supplier number {i} does.") for i in range(4)]

    def run(lr: float = 5e-3, **rule: float):  # noqa: ANN202
        rule.setdefault("fit_share", 2.0)  # the loss rule under test here; reproduction is tested below
        cfg = TrainConfig(steps=None, epochs=12, batch_size=4, lr=lr, r=8, alpha=16, warmup_steps=1, stop="fit",
                          min_epochs=3, **rule)  # 4 examples at batch 4: one step an epoch
        model = attach_lora(load_causal_lm(ref, dev, four_bit=four_bit), cfg, quantized=four_bit, seed=0)
        return train(model, tok, examples, cfg, seed=0, device="cpu")

    never = run(fit_loss=0.0, patience=100)
    assert (never.stop, never.steps, never.epochs) == ("cap", 12, 12.0)
    threshold = never.losses[5]  # the loss at the end of epoch 6: a rule at that level stops there
    fit = run(fit_loss=threshold, patience=100)
    assert fit.stop == "fit" and fit.steps == fit.epochs == 6 and fit.losses == never.losses[:6]
    assert fit.seconds_per_step == pytest.approx(fit.seconds / 6)
    assert "stopped after 6 steps (fit)" in fit.budget
    still = run(fit_loss=0.0, lr=0.0)
    assert still.stop == "plateau" and still.steps == 1 + TrainConfig.patience  # `patience` stale epochs after the first
    # the reproduction rule is wired in: a share every epoch meets stops at the first epoch it is checked
    copied = run(fit_share=0.0, patience=100)
    assert (copied.stop, copied.steps) == ("fit", 3) and copied.losses == never.losses[:3]


def test_a_trained_cell_records_why_and_when_training_stopped(tmp_path: Path, tiny_llama: Path,
                                                               fresh_cache: Path) -> None:
    from harness.results import read_run
    from harness.run import run_matrix
    from test_matrix import options

    opts = options(tiny_llama, tmp_path / "run", ["lora", "qlora"])
    run_matrix(opts)
    frame, _, manifest = read_run(tmp_path / "run")
    for _, row in frame.iterrows():  # the smoke profile's cap (2 epochs of 8 items at batch 4) comes first
        assert row["train_stop"] == "cap" and row["train_epochs"] == 2.0 and row["train_steps"] == 4
        assert row["train_seconds_per_step"] == pytest.approx(row["train_seconds"] / 4)
        assert len(row["train_epoch_losses"].split()) == 2
    assert manifest["profile"]["train"]["stop"] == "fit"


def test_a_phi3_sized_model_trains_at_its_published_rate_and_the_embedded_one_at_its_own(tmp_path: Path) -> None:
    import json

    from harness.profiles import get_profile
    from harness.recipes import RECIPES, fit_to_model, model_params
    from harness.sizing import KNOWN

    quick = get_profile("quick")
    folder = tmp_path / "phi3"
    folder.mkdir()
    phi3 = KNOWN["phi-3-mini"]
    (folder / "config.json").write_text(json.dumps({
        "model_type": "phi3", "hidden_size": phi3.hidden, "num_hidden_layers": phi3.layers,
        "num_attention_heads": phi3.heads, "num_key_value_heads": phi3.kv_heads,
        "intermediate_size": phi3.intermediate, "vocab_size": phi3.vocab}))
    params = model_params(str(folder))
    assert 3.7e9 < params < 3.9e9
    fitted = fit_to_model(quick, params)
    for strategy in ("lora", "qlora", "raft"):
        cfg = fitted.train_config(strategy)
        assert cfg.lr == 3e-4 and "torchtune recipes/configs/phi3/mini_lora_single_device.yaml" in cfg.lr_source
        assert cfg.lr != quick.train_config(strategy).lr
    assert fit_to_model(quick, 134_515_008.0) == quick  # the embedded model keeps the settings chosen for it
    assert fit_to_model(quick, None) == quick
    assert [r.lr for r in RECIPES] == [None, 2e-4, 3e-4, 3e-4] and all(r.source for r in RECIPES)
