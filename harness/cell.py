"""The cell contract: what a strategy is, what one cell's work receives, and what it may ask of the run.

Like lm-eval's `api/instance.py`, this module imports nothing of the pipeline at run time (the types
below are for checkers only), so imports run one way: cli -> run -> strategies -> evaluate -> cell.
The run implements `Context` and `Progress`; strategies and evaluation only see these shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # for type checkers only: nothing of harness is imported when this module loads
    from harness.config import Scenario
    from harness.models import DeviceInfo, ModelRef
    from harness.profiles import RunProfile

Example = tuple[list[dict[str, str]], str]  # (chat messages of the prompt, the response to learn)


class CellSkipped(Exception):
    """The strategy cannot run here (missing package, no GPU kernel...): the row says why."""


@dataclass(frozen=True)
class Strategy:
    """A strategy is a declaration; the executor in `harness.strategies.base` composes its parts."""

    name: str
    description: str
    retrieval: bool = False
    train: bool = False  # trains its own LoRA adapter
    four_bit: bool = False  # base weights in NF4 (QLoRA)
    reuse_adapter_of: str | None = None  # answers with another strategy's adapter (not retrained)
    # how its training examples are built; None: closed-book instruction/response pairs
    examples: Callable[[CellTask], list[Example]] | None = None

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.reuse_adapter_of,) if self.reuse_adapter_of else ()

    @property
    def fine_tuned(self) -> bool:
        """Answers with a LoRA adapter, its own or a reused one."""
        return self.train or self.reuse_adapter_of is not None

    def flags(self) -> dict[str, bool]:
        """The strategy's own facts, written into every row it produces: readers never infer them."""
        return {"retrieves": self.retrieval, "fine_tuned": self.fine_tuned, "four_bit": self.four_bit}


class Progress(Protocol):
    """Progress callbacks a cell reports through (bars in a terminal, nothing in tests)."""

    def step_callback(self, total: int, desc: str) -> Callable[[int, float], None]: ...

    def answer_callback(self, total: int, desc: str) -> Callable[[int], None]: ...


class Context(Protocol):
    """What the cells of one run share: loaded once, handed to every cell."""

    progress: Progress

    def tokenizer(self) -> Any: ...

    def base_model(self) -> Any: ...

    def release_base_model(self) -> None: ...

    def park_base_model(self) -> None: ...

    def embedder(self) -> Any: ...

    def faithfulness(self) -> Any: ...

    def claim_checker(self) -> Any: ...

    def index(self, scenario: str, label: str, corpus: list[Any], chunk_tokens: int, chunk_overlap: int) -> Any: ...


@dataclass
class CellTask:
    """Everything a strategy needs to run one cell."""

    scenario: Scenario
    profile: RunProfile
    model: ModelRef
    device: DeviceInfo
    seed: int
    artifact_dir: Path  # where this cell's adapter lives: keyed by what training depends on only
    ctx: Context
    deps: dict[str, dict[str, Any]]  # strategy it depends on -> that cell's row
    precision: str = "float32"  # the dtype answers and multiple choice are computed in (models.answer_precision)

    @property
    def profile_name(self) -> str:
        return self.profile.name
