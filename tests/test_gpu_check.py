"""bench/gpu_check.py --tiny: every phase of the prepared GPU check runs on the CPU and writes its JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_gpu_check_runs_every_phase_on_a_tiny_phi3(tmp_path: Path, root: Path) -> None:
    out = tmp_path / "check.jsonl"
    done = subprocess.run([sys.executable, str(root / "bench" / "gpu_check.py"), "--tiny", "--steps", "2",
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HARNESS_CACHE_DIR": str(tmp_path / "cache")})
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["phase"] for x in lines] == ["env", "load", "lora", "answer", "qlora", "oom", "summary"], done.stderr[-2000:]
    assert all(x["ok"] for x in lines), lines
    assert done.returncode == 0
    by = {x["phase"]: x for x in lines}
    assert by["env"]["bitsandbytes_nf4"].startswith("ok")
    assert by["lora"]["raft_checkpointing_on"]["checkpointing"] is True
    assert by["lora"]["closed_book_checkpointing_off"]["predicted_gb"] > 0
    assert len(by["answer"]["stop_ids"]) == 2  # <|endoftext|> and <|end|>
    assert by["oom"]["row_error"].startswith("OutOfMemory: out of memory at batch 4096")
