"""What one run is: its scenarios, strategies, profile, model, device, seeds, output and executor.

Plain, picklable data: the Ray executor ships it to its workers as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads EXECUTORS when it builds its parser: nothing heavy at import
    from harness.config import Scenario
    from harness.models import DeviceInfo, ModelRef
    from harness.profiles import RunProfile

EXECUTORS = ("local", "ray")  # harness.run.executors.make_executor builds each


@dataclass
class RunOptions:
    scenarios: list[Scenario]
    strategies: list[str] | None
    profile: RunProfile
    model: ModelRef
    device: DeviceInfo
    seeds: list[int]
    out: Path
    argv: list[str]
    progress: bool = True
    judge: Any = None  # a judge.JudgeConfig: faithfulness by ragas + that endpoint instead of offline
    executor: str = "local"  # local | ray (harness.run.executors)
    ray_address: str | None = None  # None: RAY_ADDRESS, else a local Ray instance
    # each cell in a fresh process of its own (local executor), so its measured peak is what a process doing
    # only that cell needs, not the run's history; None: on a CPU (RSS is the whole process), not on CUDA
    # (the allocator measures each phase itself, and the model stays loaded across cells)
    isolate: bool | None = None

    @property
    def isolated(self) -> bool:
        return self.isolate if self.isolate is not None else self.device.device == "cpu"

    @property
    def scoring(self) -> str:
        """Which faithfulness method scores the cells: part of every cell key."""
        from harness.faithfulness import OFFLINE_METHOD

        return self.judge.method + "@" + self.judge.base_url if self.judge else OFFLINE_METHOD
