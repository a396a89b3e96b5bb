"""Running the matrix: plan (cells, keys), cache (finished cells), folder (the run folder), matrix (the loop)."""

from harness.run.matrix import RunOptions, check_out, run_cell, run_matrix
from harness.run.plan import Cell, check_strategies, plan_cells, train_key

__all__ = ["Cell", "RunOptions", "check_out", "check_strategies", "plan_cells", "run_cell", "run_matrix", "train_key"]
