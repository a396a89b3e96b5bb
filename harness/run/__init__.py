"""Running the matrix: plan (cells, keys), cache (finished cells), compute (one cell), executors (where cells
run: here or on Ray), folder (the run folder), matrix (the loop that ties them).

Names are imported on first use, so that `harness --help` does not load the pipeline.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EXECUTORS": "options", "RunOptions": "options", "make_executor": "executors", "check_out": "matrix",
    "run_matrix": "matrix", "Cell": "plan", "check_strategies": "plan", "plan_cells": "plan", "train_key": "plan",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'harness.run' has no attribute {name!r}")
    return getattr(importlib.import_module(f"harness.run.{_EXPORTS[name]}"), name)
