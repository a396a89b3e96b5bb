"""Where cells are computed: in this process one after another (`local`), or as tasks on a Ray
cluster (`ray`, harness.run.ray_executor). An executor computes and hands each record back to the
matrix, which alone writes the cache and the run folder, so resume and "one row per finished cell"
hold the same way for both.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any, Protocol

from harness.models import DeviceInfo, resolve_device
from harness.run.compute import compute_cell, dep_rows
from harness.run.context import RunContext
from harness.run.options import EXECUTORS, RunOptions
from harness.run.plan import Cell
from harness.run.progress import Progress
from harness.run.provenance import node_name

Finished = Callable[[Cell, dict[str, Any]], None]


class Executor(Protocol):
    name: str

    def device(self, arg: str) -> DeviceInfo:
        """The device the cells will run on (--device auto|cpu|cuda), decided where they run."""
        ...

    def describe(self) -> dict[str, Any]:
        """For the manifest: the executor, and the nodes with their devices."""
        ...

    def check(self, opts: RunOptions) -> None:
        """Input errors that only the executor can see (a node that cannot read the model): before any cell."""
        ...

    def run(self, todo: list[Cell], opts: RunOptions, done: dict[str, dict[str, Any]], finished: Finished,
            progress: Progress) -> None:
        """Compute `todo` (in plan order: a cell's dependencies come first, or are in `done`); call
        `finished` once per cell, in the driver, as each record comes back."""
        ...


class LocalExecutor:
    """This process, one cell after another, with one shared model cache (RunContext)."""

    name = "local"

    def __init__(self) -> None:
        self._device: DeviceInfo | None = None

    def device(self, arg: str) -> DeviceInfo:
        self._device = resolve_device(arg)
        return self._device

    def describe(self) -> dict[str, Any]:
        device = dataclasses.asdict(self._device) if self._device else None
        return {"name": self.name, "nodes": [{"node": node_name(), "cpus": os.cpu_count(), "device": device}]}

    def check(self, opts: RunOptions) -> None:
        self._device = self._device or opts.device

    def run(self, todo: list[Cell], opts: RunOptions, done: dict[str, dict[str, Any]], finished: Finished,
            progress: Progress) -> None:
        ctx = RunContext(opts.model, opts.device, progress, opts.judge)
        node = node_name()
        for cell in todo:
            progress.running(f"{cell.scenario}/{cell.strategy}" + (f"/seed {cell.seed}" if len(opts.seeds) > 1 else ""))
            finished(cell, compute_cell(cell, opts, ctx, dep_rows(cell, done), node))


def make_executor(name: str, ray_address: str | None = None, cpus_per_cell: float = 1) -> Executor:
    """The named executor; `ray` connects to (or starts) its cluster here, so a missing Ray or an
    unreachable address is an input error before any model is loaded."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from harness.run.ray_executor import RayExecutor

        return RayExecutor(ray_address, cpus_per_cell)
    raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
