"""The matrix: plan cells, run each once, cache it, and (re)write the run folder after every cell.

A rerun of the same command, or a run restarted after SIGKILL, reads finished cells from the cache
and computes only the rest. Where the cells are computed is the executor's business (this process,
or Ray workers); the cache and the run folder are written here only, by the driver.
"""

from __future__ import annotations

from typing import Any

from harness.run.cache import load_cached, store
from harness.run.folder import check_out_folder, write_run_folder
from harness.run.executors import Executor, make_executor
from harness.run.options import RunOptions
from harness.run.plan import Cell, plan_cells
from harness.run.progress import Progress
from harness.run.provenance import now


def plan(opts: RunOptions) -> list[Cell]:
    strategies = opts.strategies or list(opts.profile.strategies)
    return plan_cells(opts.scenarios, strategies, opts.profile, opts.model, opts.seeds, opts.device, opts.scoring)


def check_out(opts: RunOptions) -> None:
    """The output folder may take this run (see check_out_folder): called before any work."""
    check_out_folder(opts.out, plan(opts), opts.model.identity, opts.profile.name)


def run_matrix(opts: RunOptions, executor: Executor | None = None) -> Any:
    """Run (or resume) the matrix and return the results frame; the run folder is current after each cell.

    Finished cells come from the cache; the executor computes the others and hands each record back
    here, where it is stored and the run folder rewritten, so this process is the only writer of both."""
    cells = plan(opts)
    check_out_folder(opts.out, cells, opts.model.identity, opts.profile.name)
    executor = executor or make_executor(opts.executor, opts.ray_address)
    executor.check(opts)
    started = now()
    progress = Progress(opts.progress)
    done: dict[str, dict[str, Any]] = {}
    for cell in cells:
        cached = load_cached(cell.key)
        if cached is not None:
            done[cell.key] = cached
    todo = [c for c in cells if c.key not in done]
    bar = progress.cells(len(cells), initial=len(cells) - len(todo))
    info = executor.describe()

    def finished(cell: Cell, rec: dict[str, Any]) -> None:
        store(cell.key, rec)
        done[cell.key] = rec
        bar.update(1)
        write_run_folder(opts, cells, done, started, finished=False, executor=info)

    write_run_folder(opts, cells, done, started, finished=False, executor=info)
    executor.run(todo, opts, done, finished, progress)
    bar.close()
    # described again: how cells ran (fresh processes or long-lived actors) is known once the executor started
    return write_run_folder(opts, cells, done, started, finished=True, executor=executor.describe())
