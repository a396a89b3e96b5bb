"""The matrix: plan cells, run each once, cache it, and (re)write the run folder after every cell.

A rerun of the same command, or a run restarted after SIGKILL, reads finished cells from the cache
and computes only the rest.
"""

from __future__ import annotations

import json
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness.cell import CellSkipped, CellTask
from harness.config import Scenario
from harness.faithfulness import OFFLINE_METHOD
from harness.measure import free_memory
from harness.models import DeviceInfo, ModelRef
from harness.profiles import RunProfile
from harness.run.cache import artifact_dir, load_cached, store
from harness.run.context import RunContext
from harness.run.folder import check_out_folder, write_run_folder
from harness.run.plan import Cell, plan_cells
from harness.run.progress import Progress
from harness.run.provenance import git_commit, now, package_versions
from harness.strategies import STRATEGIES
from harness.strategies import base as executor


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

    @property
    def scoring(self) -> str:
        """Which faithfulness method scores the cells: part of every cell key."""
        return self.judge.method + "@" + self.judge.base_url if self.judge else OFFLINE_METHOD


def run_cell(cell: Cell, opts: RunOptions, ctx: RunContext, done: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compute one cell; never raises for a strategy's own failure (the row says failed and why)."""
    scenario = next(s for s in opts.scenarios if s.name == cell.scenario)
    strategy = STRATEGIES.get(cell.strategy)
    row: dict[str, Any] = {
        "scenario": cell.scenario, "strategy": cell.strategy, "model": opts.model.name, "seed": cell.seed,
        "profile": opts.profile.name, "status": "ok", "error": None, **strategy.flags(),
        "model_identity": opts.model.identity, "device": opts.device.device, "device_name": opts.device.name,
        "dtype": opts.device.dtype, "git_commit": git_commit(), "harness_version": __version__,
        "versions": json.dumps(package_versions(), sort_keys=True), "cell_key": cell.key, "created_at": now(),
    }
    task = CellTask(scenario, opts.profile, opts.model, opts.device, cell.seed,
                    artifact_dir(cell.train_key or cell.key), ctx,
                    {s: done[k]["row"] for s, k in cell.deps.items()})
    samples: list[dict[str, Any]] = []
    tb = None
    try:
        measured = executor.execute(strategy, task)
        samples = measured.pop("samples")
        row.update(measured)
    except CellSkipped as exc:
        row.update(status="skipped", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the matrix
        row.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        tb = traceback.format_exc()
    finally:
        free_memory()  # an out-of-memory cell's leftovers must not make the next one fail
    rec = {"row": row, "samples": [{"scenario": cell.scenario, "strategy": cell.strategy, "seed": cell.seed, **s}
                                   for s in samples]}
    if tb:
        rec["traceback"] = tb
    store(cell.key, rec)
    return rec


def plan(opts: RunOptions) -> list[Cell]:
    strategies = opts.strategies or list(opts.profile.strategies)
    return plan_cells(opts.scenarios, strategies, opts.profile, opts.model, opts.seeds, opts.device, opts.scoring)


def check_out(opts: RunOptions) -> None:
    """The output folder may take this run (see check_out_folder): called before any work."""
    check_out_folder(opts.out, plan(opts), opts.model.identity, opts.profile.name)


def run_matrix(opts: RunOptions) -> Any:
    """Run (or resume) the matrix and return the results frame; the run folder is current after each cell."""
    cells = plan(opts)
    check_out_folder(opts.out, cells, opts.model.identity, opts.profile.name)
    started = now()
    progress = Progress(opts.progress)
    ctx = RunContext(opts.model, opts.device, progress, opts.judge)
    done: dict[str, dict[str, Any]] = {}
    bar = progress.cells(len(cells))
    for cell in cells:
        bar.set_description(f"{cell.scenario}/{cell.strategy}" + (f"/seed {cell.seed}" if len(opts.seeds) > 1 else ""))
        cached = load_cached(cell.key)
        done[cell.key] = cached if cached is not None else run_cell(cell, opts, ctx, done)
        bar.update(1)
        write_run_folder(opts, cells, done, started, finished=False)
    bar.close()
    return write_run_folder(opts, cells, done, started, finished=True)
