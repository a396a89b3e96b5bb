"""Where cells are computed: here one after another (`local`), or as tasks on a Ray cluster (`ray`,
harness.run.ray_executor). An executor computes and hands each record back to the matrix, which alone
writes the cache and the run folder, so resume and "one row per finished cell" hold the same way for both.

On a CPU the local executor computes each cell in a fresh process (forked from a server that has only
imported the libraries): a process's resident memory is all it ever held, so a cell measured after
others would carry their model copies, indexes and allocator leftovers. Isolated, the same baseline cell
measures the same whether it runs first or last (a test holds it within 10%).
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
    """One cell after another: each in a fresh process on a CPU (opts.isolated), else in this process with one
    shared model cache (RunContext)."""

    name = "local"

    def __init__(self) -> None:
        self._device: DeviceInfo | None = None
        self._isolated = False

    def device(self, arg: str) -> DeviceInfo:
        self._device = resolve_device(arg)
        return self._device

    def describe(self) -> dict[str, Any]:
        device = dataclasses.asdict(self._device) if self._device else None
        return {"name": self.name, "cell_process": "fresh per cell" if self._isolated else "shared",
                "nodes": [{"node": node_name(), "cpus": os.cpu_count(), "device": device}]}

    def check(self, opts: RunOptions) -> None:
        self._device = self._device or opts.device
        self._isolated = opts.isolated

    def run(self, todo: list[Cell], opts: RunOptions, done: dict[str, dict[str, Any]], finished: Finished,
            progress: Progress) -> None:
        self._isolated = opts.isolated
        ctx = None if opts.isolated else RunContext(opts.model, opts.device, progress, opts.judge)
        node = node_name()
        for cell in todo:
            progress.running(f"{cell.scenario}/{cell.strategy}" + (f"/seed {cell.seed}" if len(opts.seeds) > 1 else ""))
            deps = dep_rows(cell, done)
            rec = _in_fresh_process(cell, opts, deps, node) if ctx is None else compute_cell(cell, opts, ctx, deps, node)
            finished(cell, rec)


# what a fresh cell process starts with already imported (forked from the server that imported them once)
_PRELOAD = ["torch", "transformers", "peft", "harness.run.compute", "harness.strategies", "harness.evaluate"]
_pool_context: Any = None


def _cell_process_context() -> Any:
    global _pool_context
    if _pool_context is None:
        import multiprocessing

        _pool_context = multiprocessing.get_context("forkserver")
        _pool_context.set_forkserver_preload(_PRELOAD)
    return _pool_context


def _fresh(cell: Cell, opts: RunOptions, deps: dict[str, dict[str, Any]], node: str, env: dict[str, str]) -> dict[str, Any]:
    """In the cell's own process: the environment the driver has now (a test's cache folder), then the cell."""
    os.environ.update(env)
    return compute_cell(cell, opts, RunContext(opts.model, opts.device, Progress(opts.progress), opts.judge), deps,
                        node)


def _in_fresh_process(cell: Cell, opts: RunOptions, deps: dict[str, dict[str, Any]], node: str) -> dict[str, Any]:
    """One cell in a process of its own; a process that dies (killed for memory) fails its cell with why."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from harness.run.compute import base_row, record

    env = {k: v for k, v in os.environ.items() if k.startswith(("HARNESS_", "HF_", "TRANSFORMERS_", "RAGAS_"))}
    with ProcessPoolExecutor(max_workers=1, mp_context=_cell_process_context()) as pool:
        try:
            return pool.submit(_fresh, cell, opts, deps, node, env).result()
        except BrokenProcessPool:
            row = base_row(cell, opts, node)
            return record(cell, {**row, "status": "failed",
                                 "error": "the cell's process died (killed by the system, e.g. out of memory)"}, [])
        except BaseException:
            # the run is being stopped (Ctrl-C, or SIGTERM from a scheduler, `timeout` or a supervisor, which
            # harness.cli turns into KeyboardInterrupt): leaving the pool would wait for the cell to finish,
            # so its process is killed first; the finished cells are already stored
            _kill_workers(pool)
            raise


def _kill_workers(pool: Any) -> None:
    """Kill a process pool's workers now (the standard library only offers to wait for them)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)

def make_executor(name: str, ray_address: str | None = None, cpus_per_cell: float = 1) -> Executor:
    """The named executor; `ray` connects to (or starts) its cluster here, so a missing Ray or an
    unreachable address is an input error before any model is loaded."""
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        from harness.run.ray_executor import RayExecutor

        return RayExecutor(ray_address, cpus_per_cell)
    raise ValueError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})")
