"""The cell cache: one JSON record per finished cell under HARNESS_CACHE_DIR/cells, written atomically.

A finished ok cell is never recomputed; failed cells are retried and skipped ones re-decided (cheap,
and a skip can lift: a hybrid skipped for a failed lora cell runs once lora succeeds).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from harness.models import cache_dir


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def cell_file(key: str) -> Path:
    return cache_dir() / "cells" / f"{key}.json"


def artifact_dir(key: str) -> Path:
    """Where a cell's adapter lives (keyed by its train key: what training depends on only)."""
    return cache_dir() / "artifacts" / key


def load_cached(key: str) -> dict[str, Any] | None:
    """A finished ok cell from the cache, or None when it must be computed."""
    path = cell_file(key)
    if not path.is_file():
        return None
    try:
        rec = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if rec.get("row", {}).get("status") != "ok":
        return None
    adapter = rec["row"].get("adapter_path")
    if adapter and not Path(adapter).is_dir():
        return None  # the adapter a dependent cell would reuse is gone: recompute
    return rec


def store(key: str, rec: dict[str, Any]) -> None:
    atomic_write(cell_file(key), json.dumps(rec, default=str))
