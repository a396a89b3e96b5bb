"""QLoRA is really 4-bit and really learns, even after an eval forward (the bitsandbytes CPU trap)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
from harness.prompts import closed_book
from harness.training import IGNORE, TrainConfig, attach_lora, encode_example, train


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
