"""Tiny random models for tests: a few layers with the SmolLM2 tokenizer, built in a second, no hub."""

from __future__ import annotations

from pathlib import Path


def smollm2_tokenizer(folder: Path):  # noqa: ANN201
    """The SmolLM2 tokenizer (with its ChatML template), read from the embedded GGUF once."""
    from transformers import AutoTokenizer

    if not (folder / "tokenizer_config.json").is_file():
        from harness.models import _embedded_gguf

        gguf = _embedded_gguf()
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tok.save_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def build_tiny(kind: str, folder: Path, tokenizer_dir: Path) -> Path:
    """A random-weight Llama or Phi-3 (hidden 64, 2 layers, 4 heads) saved as an HF folder."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Phi3Config

    tok = smollm2_tokenizer(tokenizer_dir)
    common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                  bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                  tie_word_embeddings=True)
    config = LlamaConfig(**common) if kind == "llama" else Phi3Config(**common)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_adapter_matter(model, std: float = 0.05) -> None:  # noqa: ANN001
    """LoRA's B matrices start at zero, so a fresh adapter changes nothing; give them random values."""
    import torch

    torch.manual_seed(1)
    for name, p in model.named_parameters():
        if "lora_B" in name:
            torch.nn.init.normal_(p, std=std)


# the chat templates and special tokens of the two families harness's users run, on SmolLM2's vocabulary
FAMILIES = {
    "phi3": {
        "specials": ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"], "eos": "<|endoftext|>", "turn_end": "<|end|>",
        "template": ("{% for message in messages %}{% if message['role'] == 'system' %}{{'<|system|>\n' + "
                     "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}{{'<|user|>\n' + "
                     "message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}{{'<|assistant|>\n' + "
                     "message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}{% if add_generation_prompt %}"
                     "{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"),
    },
    "llama3": {
        "specials": ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
        "eos": "<|end_of_text|>", "turn_end": "<|eot_id|>",
        "template": ("{{ '<|begin_of_text|>' }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
                     "'<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
                     "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    },
}


def build_family(family: str, folder: Path, tokenizer_dir: Path) -> Path:
    """A tiny random Phi-3 or Llama-3 whose tokenizer carries that family's real special tokens and chat
    template (eos <|endoftext|> / <|end_of_text|>; turns end with <|end|> / <|eot_id|>), and whose generation
    config lists both, as the published models' do."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, Phi3Config

    spec = FAMILIES[family]
    tok = smollm2_tokenizer(tokenizer_dir)
    tok.add_special_tokens({"eos_token": spec["eos"], "additional_special_tokens": spec["specials"]})
    tok.pad_token = spec["eos"]
    tok.chat_template = spec["template"]
    end = tok.convert_tokens_to_ids(spec["turn_end"])
    common = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                  bos_token_id=tok.bos_token_id, eos_token_id=[tok.eos_token_id, end], pad_token_id=tok.pad_token_id,
                  tie_word_embeddings=True)
    config = Phi3Config(**common) if family == "phi3" else LlamaConfig(**common)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    model.generation_config.eos_token_id = [tok.eos_token_id, end]
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
