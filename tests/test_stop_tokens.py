"""Answers stop where the model's turn ends: Phi-3 (<|end|>, eos <|endoftext|>) and Llama-3 (<|eot_id|>)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.generation import end_of_turn_id, generate, stop_ids
from harness.models import load_causal_lm, load_tokenizer, resolve_device, resolve_model
from harness.prompts import closed_book
from harness.training import IGNORE, TrainConfig, attach_lora, encode_example, train
from tiny_models import FAMILIES, build_family


@pytest.fixture(scope="module", params=["phi3", "llama3"])
def family(request: pytest.FixtureRequest, tiny_dir: Path) -> tuple[str, Path]:
    return request.param, build_family(request.param, tiny_dir / request.param, tiny_dir / "tokenizer")


def test_the_stop_set_holds_the_templates_end_of_turn(family: tuple[str, Path]) -> None:
    name, folder = family
    ref = resolve_model(str(folder))
    tok, model = load_tokenizer(ref), load_causal_lm(ref, resolve_device("cpu"))
    end = tok.convert_tokens_to_ids(FAMILIES[name]["turn_end"])
    assert end_of_turn_id(tok) == end and end != tok.eos_token_id
    assert set(stop_ids(model, tok)) == {tok.eos_token_id, end}
    # the training target ends with the token the template writes after a turn
    ids, labels = encode_example(tok, closed_book("S", "Ready?"), "Yes.", 256)
    learned = [t for t, lab in zip(ids, labels) if lab != IGNORE]
    assert end in learned


@pytest.mark.slow
def test_a_fine_tuned_cell_learns_the_stop_and_generation_honours_it(family: tuple[str, Path]) -> None:
    """After training on short answers the model ends its turn; harness stops there, while passing the
    tokenizer's eos alone (the old behaviour) lets the answer run on to max_new_tokens."""
    name, folder = family
    ref = resolve_model(str(folder))
    tok = load_tokenizer(ref)
    model = attach_lora(load_causal_lm(ref, resolve_device("cpu")), TrainConfig(steps=60, batch_size=2, lr=1e-2, r=8,
                                                                                 alpha=16, warmup_steps=2), False, 0)
    examples = [(closed_book("S", q), "Yes.") for q in ("Ready?", "Set?")]
    train(model, tok, examples, TrainConfig(steps=60, batch_size=2, lr=1e-2, r=8, alpha=16, warmup_steps=2), 0, "cpu")
    conv = [closed_book("S", "Ready?")]
    answer = generate(model, tok, conv, 16, 1)
    assert answer.texts == ["Yes."] and answer.new_tokens < 16
    enc = tok([tok.apply_chat_template(conv[0], tokenize=False, add_generation_prompt=True)], return_tensors="pt",
              add_special_tokens=False)
    with torch.inference_mode():
        old = model.generate(**enc, max_new_tokens=16, do_sample=False, eos_token_id=tok.eos_token_id,
                             pad_token_id=tok.pad_token_id)
    assert old.shape[1] - enc["input_ids"].shape[1] > answer.new_tokens  # it ran past the end of its turn
