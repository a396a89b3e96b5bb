"""The one executor that composes a strategy's parts: get the model and its training record, then score.

A strategy is a small declaration (`harness.cell.Strategy`): does it retrieve, does it train an
adapter (plain or on 4-bit weights), or does it reuse another cell's adapter, and how are its
training examples built. The executor reads top to bottom: model, answers, scores, measurements.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import training
from harness.cell import CellSkipped, CellTask, Example, Strategy
from harness.evaluate import answer_and_score
from harness.files import atomic_write
from harness.models import load_causal_lm
from harness.prompts import closed_book
from harness.registry import Registry

__all__ = ["STRATEGIES", "CellSkipped", "Example", "Strategy", "TrainRecord", "execute", "register"]


def closed_book_examples(task: CellTask) -> list[Example]:
    system = task.scenario.spec.system_prompt
    return [(closed_book(system, t.instruction), t.response) for t in task.scenario.train_for(task.profile_name)]


def examples_of(strategy: Strategy) -> Any:
    """The function that builds a strategy's training examples (closed book unless it declares its own)."""
    return strategy.examples or closed_book_examples


STRATEGIES: Registry[Strategy] = Registry("strategy")


def register(strategy: Strategy) -> Strategy:
    STRATEGIES.register(strategy.name)(strategy)
    return strategy


def dir_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


@dataclass
class TrainRecord:
    """What training an adapter measured: saved beside the adapter, and copied into every row that uses it."""

    train_seconds: float
    train_tokens_per_s: float
    train_steps: int
    train_loss_first: float
    train_loss_last: float
    train_autocast: str
    trainable_params: int
    total_params: int
    train_peak_memory_mb: float
    adapter_mb: float
    adapter_path: str
    train_budget: str  # how the number of steps was set (training.planned_steps)
    # added later, so a record saved before them still loads (NaN / False: not measured then)
    train_reserved_memory_mb: float = math.nan  # what the CUDA allocator held at its peak
    train_allocated_memory_mb: float = math.nan  # CUDA: the peak of live tensors
    train_gradient_checkpointing: bool = False
    train_epochs: float = math.nan  # passes over the training set actually run
    train_stop: str = ""  # why training ended (training.STOP_REASONS)
    train_seconds_per_step: float = math.nan  # what a step costs (the per-step QLoRA/LoRA claim), beside time to fit
    train_epoch_losses: str = ""  # mean answer-token loss per epoch, space-separated: the evidence for train_stop
    train_device_name: str = ""  # the CPU model or GPU the training time was measured on

    def columns(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainRecord:
        return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})

    @classmethod
    def load(cls, path: Path) -> TrainRecord | None:
        """The saved record, or None (with one warning line) when it is damaged: the adapter is retrained."""
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            missing = [f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                       and not isinstance(values.get(f.name), (int, float, str))]
            if missing:
                raise ValueError(f"no {', '.join(missing)}")
            return cls.from_dict(values)
        except (OSError, ValueError, AttributeError) as exc:  # JSON and UTF-8 errors are ValueErrors
            print(f"warning: {path} is damaged ({type(exc).__name__}: {exc}); retraining the adapter",
                  file=sys.stderr, flush=True)
            return None

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps(self.columns()))  # written last: its presence means the adapter is complete


def execute(strategy: Strategy, task: CellTask) -> dict[str, Any]:
    """Run one cell; returns the row's measured fields and the per-item samples under 'samples'."""
    try:
        examples = examples_of(strategy)(task) if strategy.train else None
        model, row = _model_and_training(strategy, task, examples)
        return _score(model, strategy, task, row, examples)
    except BaseException:
        task.ctx.release_base_model()  # a failed cell may have left its LoRA layers in the shared model
        raise


def _model_and_training(strategy: Strategy, task: CellTask,
                        examples: list[Example] | None) -> tuple[Any, dict[str, Any]]:
    """The model the cell answers with, and its training columns (trained now, cached, reused, or none)."""
    ctx = task.ctx
    if strategy.train:
        base = _base_to_train(strategy, task)
        adapter, saved = task.artifact_dir / "adapter", task.artifact_dir / "train.json"
        record = TrainRecord.load(saved) if saved.is_file() and adapter.is_dir() else None
        if record is not None:
            # trained before with the same data, settings, model and seed: only the scoring changed
            from peft import PeftModel

            try:
                # the adapter where it is now: a cache moved or mounted elsewhere still serves the hybrid
                return PeftModel.from_pretrained(base, adapter), {**record.columns(), "adapter_path": str(adapter),
                                                                  "train_cached": True}
            except Exception as exc:  # noqa: BLE001 - a damaged adapter folder: retrain instead of failing forever
                print(f"warning: cached adapter {adapter} cannot be loaded ({type(exc).__name__}); retraining it",
                      file=sys.stderr, flush=True)
                ctx.release_base_model()  # the failed load may have left LoRA layers on the model
                base = _base_to_train(strategy, task)
                saved.unlink(missing_ok=True)
        cfg = task.profile.train_config(strategy.name)
        model = training.attach_lora(base, cfg, quantized=strategy.four_bit, seed=task.seed)
        steps, _ = training.planned_steps(cfg, len(examples or []))  # for the progress bar
        ts = training.train(model, ctx.tokenizer(), examples or [], cfg, task.seed,
                            task.device.device, on_step=ctx.progress.step_callback(steps, "train"))
        shutil.rmtree(adapter, ignore_errors=True)
        model.save_pretrained(adapter)
        record = TrainRecord(train_seconds=ts.seconds, train_tokens_per_s=ts.tokens_per_s, train_steps=ts.steps,
                             train_loss_first=ts.first_loss, train_loss_last=ts.last_loss, train_autocast=ts.autocast,
                             trainable_params=ts.trainable_params, total_params=ts.total_params,
                             train_peak_memory_mb=ts.memory.peak_mb, adapter_mb=dir_mb(adapter),
                             adapter_path=str(adapter), train_budget=ts.budget,
                             train_reserved_memory_mb=ts.memory.reserved_mb, train_gradient_checkpointing=ts.checkpointing,
                             train_allocated_memory_mb=ts.memory.allocated_mb,
                             train_epochs=ts.epochs, train_stop=ts.stop, train_seconds_per_step=ts.seconds_per_step,
                             train_epoch_losses=" ".join(f"{x:.4f}" for x in ts.epoch_losses),
                             train_device_name=task.device.name)
        record.save(saved)
        return model, {**record.columns(), "train_cached": False}
    if strategy.reuse_adapter_of:
        dep = task.deps[strategy.reuse_adapter_of]
        if dep.get("status") != "ok":
            raise CellSkipped(f"needs the {strategy.reuse_adapter_of} cell's adapter, and that cell is {dep.get('status')}")
        from peft import PeftModel

        model = PeftModel.from_pretrained(ctx.base_model(), dep["adapter_path"])
        return model, {**TrainRecord.from_dict(dep).columns(), "train_reused_from": strategy.reuse_adapter_of}
    model = ctx.base_model()
    return model, {"train_seconds": 0.0, "trainable_params": 0, "total_params": int(model.num_parameters()),
                   "adapter_mb": 0.0}


def _base_to_train(strategy: Strategy, task: CellTask) -> Any:
    """The weights an adapter is trained on: the run's shared model, or a fresh 4-bit load for QLoRA."""
    if not strategy.four_bit:
        return task.ctx.base_model()  # the adapter is attached to the shared weights and detached after the cell
    _require_bitsandbytes()
    task.ctx.park_base_model()  # the peak must not include a second, idle copy of the weights
    return load_causal_lm(task.model, task.device, four_bit=True)


def _score(model: Any, strategy: Strategy, task: CellTask, row: dict[str, Any],
           examples: list[Example] | None) -> dict[str, Any]:
    """Answer and score every question set; the cell's peak is training's or answering's, whichever is higher."""
    row = {**row, **answer_and_score(model, strategy, task, examples)}
    if strategy.reuse_adapter_of or (strategy.train and not strategy.four_bit):
        detach_adapter(model)  # its adapter sits on the run's shared base model
    row["memory_kind"] = row.pop("infer_memory_kind")  # training is measured the same way on the same device
    row["peak_memory_mb"] = _peak(row.get("train_peak_memory_mb"), row["infer_peak_memory_mb"])
    row["peak_reserved_memory_mb"] = _peak(row.get("train_reserved_memory_mb"), row.get("infer_reserved_memory_mb"))
    row["peak_allocated_memory_mb"] = _peak(row.get("train_allocated_memory_mb"), row.get("infer_allocated_memory_mb"))
    return row


def _peak(*values: float | None) -> float:
    """The larger of the phases' peaks; NaN where none was measured (reserved memory on a CPU)."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return max(known) if known else math.nan


def detach_adapter(model: Any) -> Any:
    """Remove the LoRA layers from the shared base model (weights untouched: adapters are never merged),
    so the next strategy of the scenario answers with the plain model without a reload."""
    base = model.unload()
    base.eval()
    return base


def _require_bitsandbytes() -> None:
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means no 4-bit here
        raise CellSkipped(f"bitsandbytes cannot be imported on this machine ({type(exc).__name__}: {exc})") from None
