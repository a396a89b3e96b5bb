"""The cell cache: one JSON record per finished cell under HARNESS_CACHE_DIR/cells, written atomically.

A finished ok cell is never recomputed; failed cells are retried and skipped ones re-decided (cheap,
and a skip can lift: a hybrid skipped for a failed lora cell runs once lora succeeds). A record is
validated when read: one that does not validate (a crash mid-write on another filesystem, a disk
error, a hand edit) is moved aside, kept for inspection, named in one warning line, and recomputed,
so a damaged entry never blocks a run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import format_validation_error
from harness.files import atomic_write
from harness.models import cache_dir
from harness.results import Sample


def cell_file(key: str) -> Path:
    return cache_dir() / "cells" / f"{key}.json"


def artifact_dir(key: str) -> Path:
    """Where a cell's adapter lives (keyed by its train key: what training depends on only)."""
    return cache_dir() / "artifacts" / key


class _RowHead(BaseModel):
    model_config = ConfigDict(extra="allow")

    scenario: str
    strategy: str
    seed: int
    status: Literal["ok", "failed", "skipped"]
    cell_key: str


class CellRecord(BaseModel):
    model_config = ConfigDict(extra="allow")

    row: _RowHead
    samples: list[Sample]


class DamagedRecord(ValueError):
    """A cache record that cannot be trusted; the message says why."""


def validate_record(key: str, raw: Any) -> dict[str, Any]:
    """The record if it is one finished cell of this key, else DamagedRecord."""
    if not isinstance(raw, dict):
        raise DamagedRecord(f"expected a JSON object, got {type(raw).__name__}")
    try:
        rec = CellRecord.model_validate(raw)
    except ValidationError as exc:
        raise DamagedRecord(format_validation_error(exc)) from None
    if rec.row.cell_key != key:
        raise DamagedRecord(f"holds cell {rec.row.cell_key}, not {key}")
    if rec.row.status == "ok":
        n_eval = sum(s.eval_set == "eval" for s in rec.samples)
        if n_eval == 0 or raw["row"].get("n_items") != n_eval:
            raise DamagedRecord(f"an ok cell with {n_eval} eval answers and n_items {raw['row'].get('n_items')}")
        if not isinstance(raw["row"].get("accuracy"), (int, float)):
            raise DamagedRecord("an ok cell without an accuracy")
    return raw


def set_aside(path: Path, why: str) -> Path:
    """Move a damaged entry out of the way (kept for inspection) and say so in one line."""
    target = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    os.replace(path, target)
    print(f"warning: cache entry {path} is damaged ({why}); moved to {target.name}, recomputing the cell",
          file=sys.stderr, flush=True)
    return target


def load_cached(key: str) -> dict[str, Any] | None:
    """A finished ok cell from the cache, or None when it must be computed (a damaged entry is set aside)."""
    path = cell_file(key)
    if not os.path.lexists(path):
        return None
    try:
        if path.is_dir() or not path.is_file():
            raise DamagedRecord("not a file")
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise DamagedRecord("not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise DamagedRecord(f"not valid JSON: {exc.msg}") from None
        rec = validate_record(key, raw)
    except DamagedRecord as exc:
        set_aside(path, str(exc))
        return None
    if rec["row"]["status"] != "ok":
        return None
    adapter = rec["row"].get("adapter_path")
    if adapter and not Path(adapter).is_dir():
        return None  # the adapter a dependent cell would reuse is gone: recompute
    return rec


def store(key: str, rec: dict[str, Any]) -> None:
    atomic_write(cell_file(key), json.dumps(rec, default=str))
