"""What a strategy is, and the one executor that composes its parts.

A strategy is a small declaration: does it retrieve, does it train an adapter (plain or on 4-bit
weights), or does it reuse another cell's adapter, and how are its training examples built. The
executor reads top to bottom: get a model, answer every eval set, score, measure.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.prompts import Message, closed_book
from harness.registry import Registry

if TYPE_CHECKING:
    from harness.runner import CellTask

Example = tuple[list[Message], str]


class CellSkipped(Exception):
    """The strategy cannot run here (missing package, no GPU kernel...): the row says why."""


def closed_book_examples(task: "CellTask") -> list[Example]:
    system = task.scenario.spec.system_prompt
    return [(closed_book(system, t.instruction), t.response) for t in task.scenario.train_for(task.profile_name)]


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    retrieval: bool = False
    train: bool = False  # trains its own LoRA adapter
    four_bit: bool = False  # base weights in NF4 (QLoRA)
    reuse_adapter_of: str | None = None  # answers with another strategy's adapter (not retrained)
    examples: Callable[["CellTask"], list[Example]] = field(default=closed_book_examples)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.reuse_adapter_of,) if self.reuse_adapter_of else ()


STRATEGIES: Registry[Strategy] = Registry("strategy")


def register(strategy: Strategy) -> Strategy:
    STRATEGIES.register(strategy.name)(strategy)
    return strategy


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def execute(strategy: Strategy, task: "CellTask") -> dict[str, Any]:
    """Run one cell; returns the row's measured fields and the per-item samples under 'samples'."""
    try:
        return _execute(strategy, task)
    except BaseException:
        task.ctx.release_base_model()  # a failed cell may have left its LoRA layers in the shared model
        raise


def _execute(strategy: Strategy, task: "CellTask") -> dict[str, Any]:
    from harness.evaluate import answer_and_score
    from harness.models import load_causal_lm

    row: dict[str, Any] = {}
    ctx = task.ctx
    if strategy.train:
        if strategy.four_bit:
            _require_bitsandbytes(task)
            ctx.release_base_model()  # the peak must not include a second, idle copy of the weights
            base = load_causal_lm(task.model, task.device, four_bit=True)
        else:
            base = ctx.base_model()  # the adapter is attached to the shared weights and detached after the cell
        adapter, record = task.artifact_dir / "adapter", task.artifact_dir / "train.json"
        if record.is_file() and adapter.is_dir():
            # trained before with the same data, settings, model and seed: only the scoring changed
            from peft import PeftModel

            model = PeftModel.from_pretrained(base, adapter)
            stats = json.loads(record.read_text())
            stats["train_cached"] = True
        else:
            from harness.training import attach_lora, train

            model = attach_lora(base, task.profile.train, quantized=strategy.four_bit, seed=task.seed)
            ts = train(model, ctx.tokenizer(), strategy.examples(task), task.profile.train, task.seed,
                       task.device.device, on_step=ctx.progress.step_callback(task.profile.train.steps, "train"))
            shutil.rmtree(adapter, ignore_errors=True)
            model.save_pretrained(adapter)
            stats = dict(train_seconds=ts.seconds, train_tokens_per_s=ts.tokens_per_s, train_steps=ts.steps,
                         train_loss_first=ts.first_loss, train_loss_last=ts.last_loss, train_autocast=ts.autocast,
                         trainable_params=ts.trainable_params, total_params=ts.total_params,
                         train_peak_memory_mb=ts.memory.peak_mb, adapter_mb=dir_mb(adapter), adapter_path=str(adapter))
            tmp = record.with_suffix(".tmp")
            tmp.write_text(json.dumps(stats))
            tmp.replace(record)  # written last: its presence means the adapter is complete
            stats["train_cached"] = False
        row.update(stats)
    elif strategy.reuse_adapter_of:
        dep = task.deps[strategy.reuse_adapter_of]
        if dep.get("status") != "ok":
            raise CellSkipped(f"needs the {strategy.reuse_adapter_of} cell's adapter, and that cell is {dep.get('status')}")
        from peft import PeftModel

        model = PeftModel.from_pretrained(ctx.base_model(), dep["adapter_path"])
        for k in ("train_seconds", "train_tokens_per_s", "train_steps", "train_loss_first", "train_loss_last",
                  "train_autocast", "trainable_params", "total_params", "train_peak_memory_mb", "adapter_mb",
                  "adapter_path"):
            row[k] = dep.get(k)
        row["train_reused_from"] = strategy.reuse_adapter_of
    else:
        model = ctx.base_model()
        row.update(train_seconds=0.0, trainable_params=0, total_params=int(model.num_parameters()),
                   adapter_mb=0.0)

    row.update(answer_and_score(model, strategy, task))
    if strategy.reuse_adapter_of or (strategy.train and not strategy.four_bit):
        detach_adapter(model)  # its adapter sits on the run's shared base model
    row["memory_kind"] = row.pop("infer_memory_kind")  # training is measured the same way on the same device
    # the cell's peak: training (its own, or the reused adapter's) or answering, whichever is higher
    row["peak_memory_mb"] = max(v for v in (row.get("train_peak_memory_mb"), row["infer_peak_memory_mb"]) if v is not None)
    return row


def detach_adapter(model: Any) -> Any:
    """Remove the LoRA layers from the shared base model (weights untouched: adapters are never merged),
    so the next strategy of the scenario answers with the plain model without a reload."""
    base = model.unload()
    base.eval()
    return base


def _require_bitsandbytes(task: "CellTask") -> None:
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means no 4-bit here
        raise CellSkipped(f"bitsandbytes cannot be imported on this machine ({type(exc).__name__}: {exc})") from None
