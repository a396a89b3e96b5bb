"""The run folder: results.parquet, samples.jsonl, comparisons.parquet and manifest.json.

Rebuilt from the plan after every cell, each file replaced atomically, so the folder always holds
exactly one row per finished cell and a crash loses at most the cell in flight.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from harness.compare import pairwise
from harness.models import cache_dir
from harness.results import COMPARISONS_FILE, MANIFEST_FILE, RESULTS_FILE, SAMPLES_FILE, to_frame, with_intervals
from harness.run.cache import atomic_write
from harness.run.plan import Cell
from harness.run.provenance import git_commit, now, package_versions


def _atomic_parquet(path: Path, frame: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def write_run_folder(opts: Any, cells: list[Cell], done: dict[str, dict[str, Any]], started: str,
                     finished: bool) -> Any:
    """Write every file of the run folder from the finished cells; returns the results frame."""
    rows = [with_intervals(done[c.key]["row"], done[c.key]["samples"]) for c in cells if c.key in done]
    frame = to_frame(rows)
    opts.out.mkdir(parents=True, exist_ok=True)
    _atomic_parquet(opts.out / RESULTS_FILE, frame)
    samples = [s for c in cells if c.key in done for s in done[c.key]["samples"]]
    if rows:
        _atomic_parquet(opts.out / COMPARISONS_FILE, pairwise(frame, samples))
    lines = [json.dumps(s, default=str) for s in samples]
    atomic_write(opts.out / SAMPLES_FILE, "\n".join(lines) + ("\n" if lines else ""))
    manifest = {
        "command": opts.argv,
        "started": started,
        "finished": now() if finished else None,
        "complete": finished and len(rows) == len(cells),
        "git_commit": git_commit(),
        "versions": package_versions(),
        "device": dataclasses.asdict(opts.device),
        "cpu_count": os.cpu_count(),
        "ram_mb": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20,
        "model": dataclasses.asdict(opts.model),
        "profile": dataclasses.asdict(opts.profile),
        "seeds": list(opts.seeds),
        "faithfulness": opts.scoring.split("@")[0],
        "judge": {"base_url": opts.judge.base_url, "model": opts.judge.model} if opts.judge else None,
        "scenarios": {s.name: {"path": str(s.path), "files": s.file_hashes} for s in opts.scenarios},
        "cache_dir": str(cache_dir()),
        "cells": [{"scenario": c.scenario, "strategy": c.strategy, "seed": c.seed, "key": c.key,
                   "status": done[c.key]["row"]["status"] if c.key in done else "pending"} for c in cells],
    }
    atomic_write(opts.out / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str))
    return frame
