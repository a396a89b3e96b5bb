"""The one LoRA/QLoRA training loop: chat template, prompt tokens masked, dynamic padding, measured.

The end-of-turn token stays in the loss (pad == <|im_end|> in SmolLM2, so masking by pad id would
teach the model never to stop); labels are masked by position instead.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from harness.measure import PeakMemory, out_of_memory_as, track_peak_memory
from harness.models import bf16_native
from harness.prompts import Message

IGNORE = -100


@dataclass(frozen=True)
class TrainConfig:
    steps: int | None  # fixed optimizer steps; None: they follow the data (epochs, capped by max_steps)
    batch_size: int
    lr: float
    epochs: float | None = None  # passes over the training set: a scenario of 60 items trains as well as one of 24
    max_steps: int | None = None  # the cap on epochs-based steps (what a CPU profile can afford)
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: str | tuple[str, ...] = "all-linear"  # covers fused qkv_proj/gate_up_proj (Phi-3) too
    max_length: int = 768
    warmup_steps: int = 5
    # how the learning rate falls after warm-up: "sqrt" (1 - t)^0.5, or "cosine" (to 0 at the last step)
    schedule: str = "sqrt"
    # padded tokens one forward may hold: a batch of longer prompts (RAFT's sources) runs in micro-batches
    # with the same loss and gradients, so memory follows this budget instead of batch x prompt length
    max_batch_tokens: int | None = None
    # the same on CUDA, where a forward of a few hundred tokens is launch-bound (RAFT's 1,536-token split would
    # cut an H100 step into 3-4 small forwards); None: the whole batch in one forward
    max_batch_tokens_cuda: int | None = None
    # "auto": bf16 autocast where the hardware has native bf16 (CUDA, AVX512-BF16 CPUs), else none
    autocast: str = "auto"
    # run the tokens every example starts with once per step (same loss and gradients; see answer_loss)
    share_prefix: bool = True
    # "auto": on where harness size predicts the step does not fit the card (CUDA only); "on" / "off"
    gradient_checkpointing: str = "auto"
    # when training ends: "fit" (the rule below, checked at every epoch's end on training data only; `epochs`
    # and `max_steps` are its cap) or "budget" (every planned step, as before the rule)
    lr_source: str = ""  # where `lr` comes from, when harness.recipes set it for the model's size
    stop: str = "budget"
    # fit: at least this share of the epoch's examples reproduced token for token (the argmax at every answer
    # position is the target: greedy decoding writes the training answer exactly), measured in the training
    # forward itself at no extra cost. A mean-loss threshold of 0.05 stopped business_flow's LoRA at 10 epochs
    # with 0.46 on its own training items (JSON answers fail on one token), so the loss is not the fit criterion.
    fit_share: float = 0.9
    fit_loss: float = 0.0  # or: the epoch's mean answer-token loss at or below this (0: not used)
    # plateau: the epoch's mean loss not this share below the best earlier one, for `patience` epochs in a row.
    # 5% for 3 epochs stopped multi_fact_qa's LoRA at 10 epochs (loss 0.15, 0.29 on its own training items) on a
    # temporary flat stretch that QLoRA, on the same data, left at epoch 15 to fit at 24: a plateau must be long.
    plateau: float = 0.01
    patience: int = 5
    min_epochs: int = 3  # neither is checked before this many epochs


# Gradient checkpointing keeps one tensor per layer instead of every activation, for one extra forward
# (about a third more compute) and without the shared-prefix speed-up: worth it only where the step would
# not fit. "auto" asks harness size (the same prediction `harness size` prints) and turns it on when the
# predicted peak, with HEADROOM, is over the card's memory: Phi-3-mini LoRA at the quick setting fits an
# 80 GB card without it, Llama-3-8B at batch 16 x 512 does not fit a 24 GB one.
CHECKPOINTING = ("auto", "on", "off")
SCHEDULES = ("sqrt", "cosine")
STOPS = ("fit", "budget")
# why training ended: the loss fell below fit_loss; it stopped falling; the cap (or the fixed budget) was reached
STOP_REASONS = ("fit", "plateau", "cap", "budget")


def lr_factor(cfg: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate at `step` as a share of cfg.lr: linear warm-up, then the configured decay."""
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"schedule '{cfg.schedule}' (known: {', '.join(SCHEDULES)})")
    warm = min(1.0, (step + 1) / max(cfg.warmup_steps, 1))
    if cfg.schedule == "sqrt":
        return warm * max(0.0, 1 - step / max(total_steps, 1)) ** 0.5
    after = max(0, step - cfg.warmup_steps) / max(total_steps - cfg.warmup_steps, 1)
    return warm * 0.5 * (1 + math.cos(math.pi * min(after, 1.0)))


def micro_batches(batch: list[tuple[list[int], list[int]]], max_tokens: int | None) -> list[list[tuple[list[int], list[int]]]]:
    """The batch cut so that no forward holds more than max_tokens padded tokens (at least one row each)."""
    if not max_tokens:
        return [batch]
    width = max(len(ids) for ids, _ in batch)
    rows = max(1, max_tokens // max(width, 1))
    return [batch[i: i + rows] for i in range(0, len(batch), rows)]


def answer_tokens(batch: list[tuple[list[int], list[int]]]) -> int:
    """Tokens a batch's loss is averaged over (labels shifted by one, as answer_loss takes them)."""
    return sum(sum(1 for y in labels[1:] if y != IGNORE) for _, labels in batch)


def use_checkpointing(cfg: TrainConfig, device: str, predicted_gb: float | None = None,
                      card_gb: float | None = None) -> bool:
    """On, off, or (auto) on CUDA when the predicted peak without it does not fit the card with headroom."""
    from harness.sizing import HEADROOM

    if cfg.gradient_checkpointing not in CHECKPOINTING:
        raise ValueError(f"gradient_checkpointing '{cfg.gradient_checkpointing}' (known: {', '.join(CHECKPOINTING)})")
    if cfg.gradient_checkpointing != "auto":
        return cfg.gradient_checkpointing == "on"
    return (device == "cuda" and predicted_gb is not None and card_gb is not None
            and predicted_gb * HEADROOM > card_gb)


def predicted_step_gb(model: Any, cfg: TrainConfig, encoded: list[tuple[list[int], list[int]]],
                      quantized: bool) -> float:
    """harness size's peak for this model's training step at this batch and longest example, without
    checkpointing (the LoRA dropout and fused projections as configured)."""
    from harness.sizing import Setting, arch_of, predict

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    seq = max((len(ids) for ids, _ in encoded), default=1)
    batch = min(cfg.batch_size, len(encoded)) or 1
    limit = cfg.max_batch_tokens_cuda
    if limit:
        batch = min(batch, max(1, limit // seq))
    setting = Setting(method="qlora" if quantized else "lora", seq=seq, batch=batch, rank=cfg.r,
                      dropout=cfg.dropout > 0, fused_qkv=causal.config.model_type == "phi3")
    return predict(arch_of(causal.config), setting).gb()


def planned_steps(cfg: TrainConfig, n_examples: int) -> tuple[int, str]:
    """(optimizer steps, how the budget was set): the row says which, so an under-trained cell can be traced."""
    if cfg.epochs is None:
        if cfg.steps is None:
            raise ValueError("TrainConfig needs steps or epochs")
        return cfg.steps, f"{cfg.steps} steps (fixed)"
    batch = max(1, min(cfg.batch_size, n_examples))
    want = max(1, math.ceil(cfg.epochs * n_examples / batch))
    steps = min(want, cfg.max_steps) if cfg.max_steps else want
    how = f"{cfg.epochs:g} epochs of {n_examples} examples at batch {batch} = {want} steps"
    if steps < want:
        how += f", capped at {steps} ({steps * batch / max(n_examples, 1):.1f} epochs)"
    return steps, how


def steps_per_epoch(cfg: TrainConfig, n_examples: int) -> int:
    """Optimizer steps in one pass over the training set (the stopping rule is checked after each)."""
    batch = max(1, min(cfg.batch_size, n_examples))
    return max(1, math.ceil(n_examples / batch))


def stop_reason(cfg: TrainConfig, epoch_losses: list[float], epoch_reproduced: list[float] | None = None) -> str | None:
    """Why training should end after the last of `epoch_losses` (mean answer-token loss per epoch), or None.

    The same rule for every strategy, on training data only: "fit" once at least fit_share of an epoch's
    examples were reproduced token for token (or its mean loss is at or below fit_loss, when set); "plateau" once `patience` epochs in a row each
    fail to get `plateau` (relatively) below the best loss before them (more of the same teaches nothing).
    Neither before min_epochs; the cap is the caller's."""
    if cfg.stop != "fit" or len(epoch_losses) < cfg.min_epochs:
        return None
    if epoch_reproduced and epoch_reproduced[-1] >= cfg.fit_share:
        return "fit"
    if epoch_losses[-1] <= cfg.fit_loss:
        return "fit"
    if len(epoch_losses) > cfg.patience:
        stale = 0
        for i in range(len(epoch_losses) - cfg.patience, len(epoch_losses)):
            best_before = min(epoch_losses[:i])
            stale += epoch_losses[i] > best_before * (1 - cfg.plateau)
        if stale == cfg.patience:
            return "plateau"
    return None


def describe_stop(cfg: TrainConfig) -> str:
    """The rule in words, as the manifest and every row record it."""
    if cfg.stop == "budget":
        return "every planned step"
    fit = f"until {cfg.fit_share:.0%} of an epoch's examples are reproduced token for token" + (
        f" or its mean answer-token loss <= {cfg.fit_loss:g}" if cfg.fit_loss > 0 else "")
    return (f"{fit} (fit), or {cfg.patience} epochs in a row "
            f"without {cfg.plateau:.0%} below the best (plateau), checked from epoch {cfg.min_epochs}; at most the "
            "planned steps (cap)")


@dataclass
class TrainStats:
    steps: int
    seconds: float
    tokens: int  # tokens the forwards computed (the shared prefix once per micro-batch): what FLOPs follow
    tokens_per_s: float
    first_loss: float
    last_loss: float
    trainable_params: int
    total_params: int
    memory: PeakMemory
    autocast: str = "none"  # the dtype training ran under autocast, or "none"
    losses: list[float] = field(default_factory=list)
    budget: str = ""  # how the number of steps was set (planned_steps) and why it ended
    checkpointing: bool = False
    example_tokens: int = 0  # the examples' own (non-padding) tokens, each row whole: data throughput
    epochs: float = math.nan  # passes over the training set actually run
    lr_source: str = ""  # where `lr` comes from, when harness.recipes set it for the model's size
    stop: str = "budget"  # STOP_REASONS
    epoch_losses: list[float] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / self.steps if self.steps else math.nan

    @property
    def example_tokens_per_s(self) -> float:
        """Examples' tokens per second: the rate to compare with a trainer that computes every row whole."""
        return self.example_tokens / self.seconds if self.seconds else math.nan


def encode_example(tokenizer: Any, messages: list[Message], response: str, max_length: int) -> tuple[list[int], list[int]]:
    """input ids of prompt + response; labels -100 on the prompt so only the answer is learned."""
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(messages + [{"role": "assistant", "content": response}], tokenize=False)
    if not full.startswith(prompt):
        raise ValueError("the chat template does not extend the prompt with the answer; cannot mask the prompt")
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    a_ids = tokenizer(full[len(prompt):], add_special_tokens=False)["input_ids"]
    ids = (p_ids + a_ids)[-max_length:]
    labels = ([IGNORE] * len(p_ids) + a_ids)[-max_length:]
    return ids, labels


def _collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (x, y) in enumerate(batch):
        ids[row, : len(x)] = torch.tensor(x)
        labels[row, : len(y)] = torch.tensor(y)
        mask[row, : len(x)] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def shared_prefix_len(encoded: list[tuple[list[int], list[int]]]) -> int:
    """Tokens every example starts with (system prompt, user turn opener), stopping before any answer.

    At least one prompt token of each example stays outside it, so the position that predicts the
    first answer token is always computed per example.
    """
    if not encoded:
        return 0
    first, n = encoded[0][0], 0
    limit = min(min((j for j, y in enumerate(labels) if y != IGNORE), default=len(ids)) - 1 for ids, labels in encoded)
    while n < limit and all(len(ids) > n and ids[n] == first[n] for ids, _ in encoded):
        n += 1
    return n


def answer_loss(model: Any, inputs: dict[str, Any], prefix_len: int = 0, reproduced: list[bool] | None = None) -> Any:
    """Mean next-token loss over answer tokens, with the vocabulary projection applied only there.

    The LM head (49,152 words wide for SmolLM2) at every prompt and padding position costs time and
    most of the activation memory and carries no loss; this gives the same value as `model(**inputs).loss`.
    With prefix_len > 0 the first prefix_len tokens, identical in every row, run once and their keys
    and values are repeated across the batch (gradients flow back through the repeat, so the result
    is the same; the shared system prompt is 35-50% of a quick-profile example's tokens).
    """
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = causal.get_decoder()
    ids, mask, labels = inputs["input_ids"], inputs["attention_mask"], inputs["labels"]
    if prefix_len > 0:
        shared = decoder(input_ids=ids[:1, :prefix_len], use_cache=True)
        cache = shared.past_key_values
        cache.batch_repeat_interleave(ids.shape[0])
        hidden = decoder(input_ids=ids[:, prefix_len:], attention_mask=mask, past_key_values=cache,
                         use_cache=True)[0]
        labels = labels[:, prefix_len:]
    else:
        hidden = decoder(input_ids=ids, attention_mask=mask)[0]
    labels = labels[:, 1:]
    keep = labels != IGNORE
    logits = causal.get_output_embeddings()(hidden[:, :-1][keep])
    if reproduced is not None:  # per row: greedy decoding would write its answer token for token (argmax everywhere)
        with torch.no_grad():
            wrong = (logits.argmax(-1) != labels[keep]).long()
            rows = keep.nonzero()[:, 0]
            misses = torch.zeros(labels.shape[0], dtype=torch.long, device=labels.device).index_add_(0, rows, wrong)
            has = keep.any(dim=1)
            reproduced.extend(bool(ok) for ok, h in zip((misses == 0).tolist(), has.tolist()) if h)
    return torch.nn.functional.cross_entropy(logits.float(), labels[keep])


@contextmanager
def training_attention(model: Any, device: str) -> Iterator[str]:
    """Eager attention while training on a CPU: PyTorch's CPU flash-attention backward is slow at these
    lengths (measured: a business_flow step 5.1 -> 4.2 s); CUDA keeps the model's own kernel."""
    current = getattr(model.config, "_attn_implementation", None)
    wanted = "eager" if device == "cpu" and current == "sdpa" else current
    if wanted == current or not hasattr(model, "set_attn_implementation"):
        yield str(current)
        return
    model.set_attn_implementation(wanted)
    try:
        yield str(wanted)
    finally:
        model.set_attn_implementation(current)


@contextmanager
def gradient_checkpointing(model: Any, on: bool) -> Iterator[None]:
    """Checkpoint every decoder layer while training, and only then: the shared base model answers the
    next cells without it. Non-reentrant, so no input needs requires_grad and frozen 4-bit layers work."""
    if not on:
        yield
        return
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    try:
        yield
    finally:
        model.gradient_checkpointing_disable()


@contextmanager
def without_autocast_copies(model: Any, dtype: Any) -> Iterator[None]:
    """Training under autocast to `dtype` without the copies that change no number.

    - Autocast caches its casts only of weights that require grad, so a frozen fp32 base weight is cast
      again at every forward (twice a step with the shared prefix), and the cast is saved for backward.
      The frozen weights of plain linear layers are held in `dtype` instead, for 2 bytes a base parameter
      while training; the fp32 weights come back afterwards, as the same model answers the next cells.
    - peft casts each adapter's input to the adapter's fp32, and autocast casts it back: both are skipped.
    The matmuls read the same values either way: a test compares losses and adapters, bit for bit.
    """
    import torch
    from peft.helpers import disable_input_dtype_casting

    swapped: list[tuple[Any, Any]] = []
    if dtype is not None:
        for module in model.modules():
            weight = getattr(module, "weight", None)
            if type(module) is torch.nn.Linear and weight.dtype == torch.float32 and not weight.requires_grad:
                swapped.append((module, weight))
                module.weight = torch.nn.Parameter(weight.detach().to(dtype), requires_grad=False)
    try:
        with disable_input_dtype_casting(model, active=dtype is not None):
            yield
    finally:
        for module, weight in swapped:
            module.weight = weight


def autocast_dtype(cfg: TrainConfig, device: str) -> Any:
    """bf16 when asked, or on "auto" where it is native (fp16 on older GPUs); None for full precision."""
    import torch

    if cfg.autocast == "none":
        return None
    if cfg.autocast == "bf16":
        return torch.bfloat16
    if cfg.autocast == "fp16":
        return torch.float16
    if bf16_native(device):
        return torch.bfloat16
    return torch.float16 if device == "cuda" else None  # fp16 on an older GPU: train() scales the loss for it


def attach_lora(model: Any, cfg: TrainConfig, quantized: bool, seed: int | None = None) -> Any:
    """LoRA layers on `model`; with `seed`, their random initialisation comes from it, not from whatever
    ran before in the process (a cell's adapter must not depend on which cells ran first)."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    if seed is not None:
        torch.manual_seed(seed)

    if quantized and next(model.parameters()).device.type != "cuda":
        # norms and embeddings to fp32 for stable 4-bit training on a CPU, where the base computes in fp32 anyway;
        # checkpointing is train()'s, the same for LoRA. On CUDA the base stays in bf16, as LoRA's does (the
        # adapters are fp32 either way): otherwise QLoRA's residual stream, attention and KV cache would run in
        # fp32, twice LoRA's activation memory, and the comparison would measure the cast, not the 4 bits
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    elif quantized:
        for p in model.parameters():
            p.requires_grad_(False)
    targets = cfg.target_modules if isinstance(cfg.target_modules, str) else list(cfg.target_modules)
    lora = LoraConfig(r=cfg.r, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout, target_modules=targets,
                      bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, lora)


def train(model: Any, tokenizer: Any, examples: list[tuple[list[Message], str]], cfg: TrainConfig, seed: int,
          device: str, on_step: Callable[[int, float], None] | None = None) -> TrainStats:
    """Train the (already LoRA-wrapped) `model` in place: the planned optimizer steps (planned_steps), or with
    cfg.stop == "fit" until the stopping rule ends it (stop_reason), the planned steps being its cap. The
    learning-rate schedule runs over the planned steps either way, so a rule that never fires trains exactly
    the fixed budget."""
    import torch

    if cfg.stop not in STOPS:
        raise ValueError(f"stop '{cfg.stop}' (known: {', '.join(STOPS)})")
    torch.manual_seed(seed)
    encoded = [encode_example(tokenizer, m, r, cfg.max_length) for m, r in examples]
    total_steps, budget = planned_steps(cfg, len(encoded))
    per_epoch = steps_per_epoch(cfg, len(encoded))
    epoch_losses: list[float] = []
    epoch_reproduced: list[float] = []
    reproduced: list[bool] = []  # this epoch's examples, written exactly by greedy decoding or not
    reason = "budget" if cfg.stop == "budget" else "cap"
    rng = random.Random(seed)
    order: list[int] = []
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(cfg, s, total_steps))
    pad = tokenizer.pad_token_id
    dev = next(model.parameters()).device
    trainable, total = model.get_nb_trainable_parameters()
    amp = autocast_dtype(cfg, device)
    losses: list[float] = []
    tokens = example_tokens = 0
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    predicted = card = None
    if device == "cuda" and cfg.gradient_checkpointing == "auto":
        quantized = getattr(causal, "is_loaded_in_4bit", False)
        predicted = predicted_step_gb(model, cfg, encoded, quantized)
        card = torch.cuda.get_device_properties(dev).total_memory / 1e9
    checkpointing = use_checkpointing(cfg, device, predicted, card)
    batch_tokens = cfg.max_batch_tokens if device == "cpu" else cfg.max_batch_tokens_cuda
    # with LoRA dropout the rows would share one dropout mask over the prefix: exact only without it;
    # a checkpointed model keeps no key/value cache in training, so nothing to share the prefix through
    prefix = shared_prefix_len(encoded) if cfg.share_prefix and cfg.dropout == 0 and not checkpointing else 0
    scaler = torch.amp.GradScaler(dev.type, enabled=amp == torch.float16)  # fp16 underflows without it
    model.train()
    with (track_peak_memory(device) as mem, training_attention(causal, device),
          gradient_checkpointing(causal, checkpointing), without_autocast_copies(model, amp)):
        start = time.perf_counter()
        for step in range(total_steps):
            batch = []
            while len(batch) < min(cfg.batch_size, len(encoded)):
                if not order:
                    order = list(range(len(encoded)))
                    rng.shuffle(order)
                batch.append(encoded[order.pop()])
            n_answer = max(answer_tokens(batch), 1)
            loss = torch.zeros(())
            for part in micro_batches(batch, batch_tokens):
                n_part = answer_tokens(part)
                if not n_part:  # every answer cut off by max_length: no loss to take here
                    continue
                inputs = {k: v.to(dev) for k, v in _collate(part, pad).items()}
                rows = inputs["input_ids"].shape[0]
                tokens += int(inputs["attention_mask"].sum()) - (rows - 1) * prefix  # the prefix runs once
                example_tokens += int(inputs["attention_mask"].sum())
                with out_of_memory_as("training", *inputs["input_ids"].shape):
                    with torch.autocast(dev.type, dtype=amp, enabled=amp is not None):
                        # each part's mean weighted by its share of the batch's answer tokens: the batch mean
                        part_loss = answer_loss(model, inputs, prefix, reproduced if cfg.stop == "fit" else None) * (
                            n_part / n_answer)
                    scaler.scale(part_loss).backward()
                loss = loss + part_loss.detach().float().cpu()
            with out_of_memory_as("training", len(batch), max(len(ids) for ids, _ in batch)):
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                scaler.step(opt)
                scaler.update()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            if on_step:
                on_step(step + 1, losses[-1])
            if (step + 1) % per_epoch == 0:
                epoch_losses.append(sum(losses[-per_epoch:]) / per_epoch)
                epoch_reproduced.append(sum(reproduced) / len(reproduced) if reproduced else 0.0)
                reproduced.clear()
                why = stop_reason(cfg, epoch_losses, epoch_reproduced)
                if why:
                    reason = why
                    break
        seconds = time.perf_counter() - start
    model.eval()
    steps = len(losses)
    if cfg.lr_source:
        budget += f"; peak lr {cfg.lr:g} from {cfg.lr_source}"
    if cfg.stop == "fit":
        budget += f"; {describe_stop(cfg)}: stopped after {steps} steps ({reason})"
    return TrainStats(
        steps=steps, seconds=seconds, tokens=tokens, tokens_per_s=tokens / seconds if seconds else float("nan"),
        first_loss=losses[0] if losses else float("nan"), last_loss=losses[-1] if losses else float("nan"),
        trainable_params=int(trainable), total_params=int(total), memory=mem,
        autocast=str(amp).replace("torch.", "") if amp is not None else "none", losses=losses, budget=budget,
        checkpointing=checkpointing, example_tokens=example_tokens, epochs=steps / per_epoch, stop=reason, epoch_losses=epoch_losses,
    )
