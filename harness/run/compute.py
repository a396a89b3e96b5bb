"""One cell's work, wherever it runs: the row's provenance, the strategy's measurements, the record.

Computing writes nothing to the cell cache (the driver stores what comes back), so a cell computed in
this process and one computed on a Ray worker take the same path to the run folder.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from harness import __version__
from harness.cell import CellSkipped, CellTask
from harness.measure import free_memory
from harness.models import DeviceInfo
from harness.run.cache import artifact_dir
from harness.run.context import RunContext
from harness.run.options import RunOptions
from harness.run.plan import Cell
from harness.run.provenance import git_commit, now, package_versions
from harness.strategies import STRATEGIES
from harness.strategies import base as strategy_base


def base_row(cell: Cell, opts: RunOptions, node: str, device: DeviceInfo | None = None) -> dict[str, Any]:
    """Identity and provenance of a cell's row, before anything is measured (also for a cell whose worker died).
    `device`: the one the cell runs on (a Ray worker's own), by default the run's."""
    strategy = STRATEGIES.get(cell.strategy)
    device = device or opts.device
    return {
        "scenario": cell.scenario, "strategy": cell.strategy, "model": opts.model.name, "seed": cell.seed,
        "profile": opts.profile.name, "status": "ok", "error": None, **strategy.flags(),
        "model_identity": opts.model.identity, "device": device.device, "device_name": device.name,
        "dtype": device.dtype, "git_commit": git_commit(), "harness_version": __version__,
        "versions": json.dumps(package_versions(), sort_keys=True), "node": node, "cell_key": cell.key,
        "created_at": now(),
    }


def record(cell: Cell, row: dict[str, Any], samples: list[dict[str, Any]], tb: str | None = None) -> dict[str, Any]:
    """A cell's cache record: its row and its samples, each sample labelled with its cell."""
    rec = {"row": row, "samples": [{"scenario": cell.scenario, "strategy": cell.strategy, "seed": cell.seed, **s}
                                   for s in samples]}
    if tb:
        rec["traceback"] = tb
    return rec


def compute_cell(cell: Cell, opts: RunOptions, ctx: RunContext, deps: dict[str, dict[str, Any]],
                 node: str, device: DeviceInfo | None = None) -> dict[str, Any]:
    """Compute one cell's record (`deps`: the rows of the cells it reuses, by strategy; `device`: the one it
    runs on, by default the run's); never raises for a strategy's own failure (the row says failed and why),
    and writes nothing to the cache."""
    scenario = next(s for s in opts.scenarios if s.name == cell.scenario)
    strategy = STRATEGIES.get(cell.strategy)
    device = device or opts.device
    row = base_row(cell, opts, node, device)
    task = CellTask(scenario, opts.profile, opts.model, device, cell.seed,
                    artifact_dir(cell.train_key or cell.key), ctx, deps, cell.precision)
    samples: list[dict[str, Any]] = []
    tb = None
    try:
        measured = strategy_base.execute(strategy, task)
        samples = measured.pop("samples")
        row.update(measured)
    except CellSkipped as exc:
        row.update(status="skipped", error=str(exc))
    except Exception as exc:  # noqa: BLE001 - one failing cell must not stop the matrix
        row.update(status="failed", error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        tb = traceback.format_exc()
    finally:
        free_memory()  # an out-of-memory cell's leftovers must not make the next one fail
    return record(cell, row, samples, tb)


def dep_rows(cell: Cell, done: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rows of the finished cells whose adapter this cell reuses, by strategy."""
    return {s: done[k]["row"] for s, k in cell.deps.items()}
