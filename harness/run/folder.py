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
from harness.errors import HarnessError
from harness.files import atomic_write, replacing
from harness.models import cache_dir
from harness.results import (COMPARISONS_FILE, MANIFEST_FILE, RESULTS_FILE, RUN_FORMAT, SAMPLES_FILE, Manifest, to_frame,
                             with_intervals)
from harness.run.plan import Cell
from harness.run.provenance import git_commit, now, package_versions


def _atomic_parquet(path: Path, frame: Any) -> None:
    with replacing(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_run_folder(opts: Any, cells: list[Cell], done: dict[str, dict[str, Any]], started: str,
                     finished: bool, executor: dict[str, Any] | None = None) -> Any:
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
        "format": RUN_FORMAT,
        "command": [str(a) for a in opts.argv],
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
        "executor": executor or {"name": "local"},
        "cells": [{"scenario": c.scenario, "strategy": c.strategy, "seed": c.seed, "key": c.key,
                   "status": done[c.key]["row"]["status"] if c.key in done else "pending"} for c in cells],
    }
    Manifest.model_validate(json.loads(json.dumps(manifest, default=str)))  # the writer keeps the schema it promises
    atomic_write(opts.out / MANIFEST_FILE, json.dumps(manifest, indent=2, default=str))
    return frame


def _written_by_a_run(name: str) -> bool:
    """A run folder's own files, their atomic-write temporaries, and reports written beside them."""
    return (name in (RESULTS_FILE, SAMPLES_FILE, COMPARISONS_FILE, MANIFEST_FILE) or name.startswith(".")
            or name.startswith("report"))


def check_out_folder(out: Path, cells: list[Cell], model_identity: str, profile: str) -> None:
    """Refuse, before any work, a folder that is a file, is not writable, or holds something else: files
    that are not a run, or another run's matrix (another model or profile, or cells this run would drop).
    The same command again, or one that adds cells, resumes into the folder."""
    if out.exists() and not out.is_dir():
        raise HarnessError(f"--out {out}: is a file, not a folder")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if not (out / MANIFEST_FILE).is_file():
        if all(_written_by_a_run(p.name) for p in out.iterdir()):
            return  # a run killed before its first manifest: resume into it
        raise HarnessError(f"--out {out}: the folder is not empty and holds no harness run; name a new folder")
    try:
        theirs = Manifest.model_validate(json.loads((out / MANIFEST_FILE).read_text(encoding="utf-8")))
    except (ValueError, OSError):  # JSONDecodeError, UnicodeDecodeError and ValidationError are ValueErrors
        raise HarnessError(f"--out {out}: holds a run folder whose {MANIFEST_FILE} is damaged or from another "
                           "harness version; name a new folder") from None
    if theirs.model.get("identity") != model_identity or theirs.profile.get("name") != profile:
        raise HarnessError(f"--out {out}: holds another run (model {theirs.model.get('name')}, profile "
                           f"{theirs.profile.get('name')}); name a new folder")
    ours = {(c.scenario, c.strategy, c.seed) for c in cells}
    dropped = [c for c in theirs.cells if (c.scenario, c.strategy, c.seed) not in ours]
    if dropped:
        c = dropped[0]
        raise HarnessError(f"--out {out}: holds another run whose cell {c.scenario}/{c.strategy} (seed {c.seed}) "
                           f"this run does not have (and {len(dropped) - 1} more); its rows would be replaced: "
                           "name a new folder")
